/**
 * Issues ztna tokens: a compact JWS signed with Ed25519 (alg EdDSA, `typ: "ztna+jwt"`, `kid` header)
 * over {@link TokenClaims}. The token id (`jti`) is 16 random bytes, the handle for revocation.
 * Pure apart from WebCrypto: time and randomness come from options so tests can pin them.
 * @module
 */
import { base64url, SignJWT } from "jose";
import { importPrivateKey, type SigningKey } from "./signing_keys.ts";
import {
  MAX_TOKEN_TTL_SECONDS,
  TOKEN_ALGORITHM,
  TOKEN_ISSUER,
  TOKEN_TYPE,
  TokenClaims,
  type TokenRole,
} from "./token_claims.ts";
import { describeIssues } from "./_zod_issues.ts";

/** What the new token grants. */
export interface TokenRequest {
  /** Identity name (`sub`), 1 to 128 printable characters. */
  subject: string;
  role: TokenRole;
  /** Service ids, or `*` for all; 1 to 256 distinct entries. */
  services: readonly string[];
  /** Lifetime in seconds, 1 to 3650 days. */
  ttlSeconds: number;
  /** Groups for the access policy (`grp`), for a person's token after login. */
  groups?: readonly string[];
}

/** Clock and randomness, replaced in tests. */
export interface IssueTokenOptions {
  /** Issue time in milliseconds since the epoch. @default {Date.now()} */
  nowMs?: number;
  /** Fills a buffer with random bytes, for the token id. @default {crypto.getRandomValues} */
  random?: (bytes: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer>;
}

/** A signed token and what callers need to record about it. */
export interface IssuedToken {
  /** The compact JWS; a secret: never log it. */
  token: string;
  /** The `jti`, safe to log and used to revoke the token. */
  tokenId: string;
  /** Expiry in milliseconds since the epoch (whole seconds). */
  expiresAtMs: number;
}

/** Random bytes in a token id: 128 bits, 22 base64url characters. */
const TOKEN_ID_BYTES = 16;

/**
 * Signs a token for `request` with the Ed25519 private key (PKCS#8 PEM, or already imported).
 * @throws {RangeError} when the request is not a valid token (ttl, subject, services)
 * @throws {SigningKeyError} when the PEM holds no Ed25519 private key
 */
export async function issueToken(
  privateKey: string | SigningKey,
  request: TokenRequest,
  options: IssueTokenOptions = {},
): Promise<IssuedToken> {
  const { nowMs = Date.now(), random = (b) => crypto.getRandomValues(b) } = options;
  const { ttlSeconds } = request;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
    throw new RangeError(
      `Cannot issue token as 'ttlSeconds' must be an integer between 1 and ${MAX_TOKEN_TTL_SECONDS}: current value is ${ttlSeconds}`,
    );
  }
  const iat = Math.floor(nowMs / 1_000);
  const parsed = TokenClaims.safeParse({
    iss: TOKEN_ISSUER,
    sub: request.subject,
    role: request.role,
    svc: [...request.services],
    iat,
    exp: iat + ttlSeconds,
    jti: base64url.encode(random(new Uint8Array(TOKEN_ID_BYTES))),
    ...(request.groups === undefined ? {} : { grp: [...request.groups] }),
  });
  if (!parsed.success) {
    throw new RangeError(`Cannot issue token: ${describeIssues(parsed.error)}`);
  }
  const claims = parsed.data;
  const signer = typeof privateKey === "string" ? await importPrivateKey(privateKey) : privateKey;
  const token = await new SignJWT({
    ...claims,
    svc: [...claims.svc],
    ...(claims.grp === undefined ? {} : { grp: [...claims.grp] }),
  })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: TOKEN_TYPE, kid: signer.kid })
    .sign(signer.key);
  return { token, tokenId: claims.jti, expiresAtMs: claims.exp * 1_000 };
}
