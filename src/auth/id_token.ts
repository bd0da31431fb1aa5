/**
 * Verifies an OpenID Connect ID token (a person's login at an identity provider) into the subject
 * and groups a ztna token is then issued for: signature by one of the provider's keys (its JWKS,
 * given here as a key lookup), issuer, audience, expiry, age, and the nonce when the flow has one.
 * Pure apart from WebCrypto: the keys and the clock come from the caller.
 * @module
 */
import { errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { z } from "zod";
import { TokenGroup, TokenSubject } from "./token_claims.ts";

/** Signature algorithms accepted in ID tokens: asymmetric only (never `none`, never HMAC). */
export const ID_TOKEN_ALGORITHMS = ["RS256", "PS256", "ES256", "ES384", "EdDSA"];

/** Clock difference tolerated between the provider and the relay on `exp`, `iat` and `nbf`. */
export const ID_TOKEN_SKEW_SECONDS = 30;

/** Longest ID token text accepted; larger input is refused before any parsing. */
export const MAX_ID_TOKEN_LENGTH = 16_384;

/** What an ID token must be to be accepted. */
export interface IdTokenCheck {
  /** The provider's issuer, compared exactly with `iss`. */
  issuer: string;
  /** Must be in `aud`. */
  audience: string;
  /** The claim that lists the person's groups. */
  groupsClaim: string;
  /** An ID token issued longer ago than this is refused. */
  maxAgeMs: number;
  /**
   * The nonce the client sent with its authorization request (code flow with PKCE). The device
   * flow has no nonce (RFC 8628 has no front channel to carry one), so it is undefined there.
   */
  nonce?: string;
  /** Milliseconds since the epoch. */
  nowMs: number;
}

/** The verified person. */
export interface IdTokenIdentity {
  subject: string;
  groups: string[];
  /** The ID token's own expiry, ms since the epoch. */
  expiresAtMs: number;
}

/** Why an ID token was refused (for operators; the peer only learns `token_invalid`/`expired`). */
export type IdTokenFailure = { code: "token_invalid" | "token_expired"; why: string };

const Groups = z.array(TokenGroup).max(256);

/**
 * Verifies `idToken` against the provider's keys.
 * @returns the person, or the reason the token is refused
 */
export async function verifyIdToken(
  idToken: string,
  keys: JWTVerifyGetKey,
  check: IdTokenCheck,
): Promise<{ ok: true; identity: IdTokenIdentity } | ({ ok: false } & IdTokenFailure)> {
  if (idToken.length === 0 || idToken.length > MAX_ID_TOKEN_LENGTH) {
    return { ok: false, code: "token_invalid", why: "ID token empty or too long" };
  }
  let payload;
  try {
    ({ payload } = await jwtVerify(idToken, keys, {
      issuer: check.issuer,
      audience: check.audience,
      algorithms: ID_TOKEN_ALGORITHMS,
      clockTolerance: ID_TOKEN_SKEW_SECONDS,
      maxTokenAge: `${Math.floor(check.maxAgeMs / 1_000)}s`,
      requiredClaims: ["sub", "exp", "iat"],
      currentDate: new Date(check.nowMs),
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) {
      return { ok: false, code: "token_expired", why: "ID token expired" };
    }
    const why = error instanceof errors.JOSEError
      ? `${error.code}: ${error.message}`
      : String(error);
    return { ok: false, code: "token_invalid", why: `ID token refused (${why})` };
  }
  if (check.nonce !== undefined && payload.nonce !== check.nonce) {
    return { ok: false, code: "token_invalid", why: "ID token nonce does not match the login" };
  }
  // With several audiences the token must name us as its authorized party (OpenID Connect Core,
  // "ID Token Validation", the azp rule).
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== check.audience) {
    return { ok: false, code: "token_invalid", why: "ID token for several audiences, azp not us" };
  }
  const subject = TokenSubject.safeParse(payload.sub);
  if (!subject.success) {
    return { ok: false, code: "token_invalid", why: "ID token subject not usable as an identity" };
  }
  const raw = payload[check.groupsClaim] ?? [];
  const groups = Groups.safeParse(raw);
  if (!groups.success) {
    return {
      ok: false,
      code: "token_invalid",
      why: `ID token claim ${check.groupsClaim} is not a list of up to 256 group names`,
    };
  }
  return {
    ok: true,
    identity: {
      subject: subject.data,
      groups: [...new Set(groups.data)],
      expiresAtMs: (payload.exp ?? 0) * 1_000,
    },
  };
}
