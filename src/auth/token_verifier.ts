/**
 * Verifies ztna tokens presented in HELLO and turns them into an {@link Identity}.
 *
 * Checks, in order: length (≤ 8 KiB, before any parsing), protected header (exactly `alg: "EdDSA"`,
 * `typ: "ztna+jwt"` and a known `kid`; nothing else, so no `crit`, `jku` or `b64` tricks), Ed25519
 * signature with the key named by `kid`, claims ({@link TokenClaims}), issue time (not in the future
 * beyond the clock skew), revocation, expiry (strict: no skew, see {@link CLOCK_SKEW_MS}). Any failure is a typed result with
 * a code from the error table and a reason for local logs; `verify` never throws.
 *
 * Several public keys may be active at once (key rotation); keys and revocations are replaced whole
 * on hot reload with {@link TokenVerifier.setKeys} and {@link TokenVerifier.setRevoked}.
 * @module
 */
import { compactVerify, decodeProtectedHeader, errors as joseErrors } from "jose";
import { z } from "zod";
import type { ErrorCode } from "../protocol/errors.ts";
import type { VerificationKey } from "./signing_keys.ts";
import {
  CLOCK_SKEW_MS,
  type Identity,
  identityFromClaims,
  MAX_TOKEN_LENGTH,
  TOKEN_ALGORITHM,
  TOKEN_TYPE,
  TokenClaims,
} from "./token_claims.ts";
import { describeIssues } from "./_zod_issues.ts";

/** The codes a token check can fail with. */
export type TokenFailureCode = Extract<
  ErrorCode,
  "token_invalid" | "token_expired" | "token_revoked" | "state_unavailable"
>;

/** Outcome of {@link TokenVerifier.verify}; `why` is for local logs, peers get only `code`. */
export type VerifyResult =
  | { ok: true; identity: Identity }
  | { ok: false; code: TokenFailureCode; why: string };

/** Options of {@link TokenVerifier}. */
export interface TokenVerifierOptions {
  /** Token ids refused even when valid. @default {new Set()} */
  revoked?: ReadonlySet<string>;
}

/** The only header we issue; anything more or different is refused. */
const TokenHeader = z.strictObject({
  alg: z.literal(TOKEN_ALGORITHM),
  typ: z.literal(TOKEN_TYPE),
  kid: z.string().min(1).max(128),
});

/** Three base64url segments: cheap shape check before jose sees the input. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Verifies tokens against the current public keys and revocation set. */
export class TokenVerifier {
  #keys = new Map<string, VerificationKey>();
  #revoked: ReadonlySet<string>;

  /**
   * @param keys the relay's public keys, selected by `kid`
   * @throws {RangeError} when `keys` is empty
   */
  constructor(keys: readonly VerificationKey[], options: TokenVerifierOptions = {}) {
    const { revoked = new Set<string>() } = options;
    this.setKeys(keys);
    this.#revoked = revoked;
  }

  /**
   * Replaces the public keys (hot reload, key rotation).
   * @throws {RangeError} when `keys` is empty: a relay without keys would refuse everyone
   */
  setKeys(keys: readonly VerificationKey[]): void {
    if (keys.length === 0) {
      throw new RangeError("Cannot verify tokens as 'keys' must not be empty: current value is []");
    }
    this.#keys = new Map(keys.map((k) => [k.kid, k]));
  }

  /** Replaces the set of revoked token ids (hot reload of the revocation file). */
  setRevoked(ids: ReadonlySet<string>): void {
    this.#revoked = ids;
  }

  /** True when `tokenId` is in the current revocation set; relays re-check live sessions with it. */
  isRevoked(tokenId: string): boolean {
    return this.#revoked.has(tokenId);
  }

  /** The current revocation set: the relay replays it to connectors that hold direct paths. */
  get revokedIds(): ReadonlySet<string> {
    return this.#revoked;
  }

  /** The ids of the keys currently accepted. */
  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  /**
   * Refuses every token with `state_unavailable` while `why` is set (the revocation set may be
   * stale: fail closed); undefined admits again.
   */
  failClosed(why: string | undefined): void {
    this.#closedBecause = why;
  }

  #closedBecause: string | undefined;

  /** Checks `token` at time `nowMs` (milliseconds since the epoch); never throws. */
  async verify(token: string, nowMs: number): Promise<VerifyResult> {
    if (this.#closedBecause !== undefined) {
      return { ok: false, code: "state_unavailable", why: this.#closedBecause };
    }
    try {
      return await this.#verify(token, nowMs);
    } catch (error) {
      // Reached only through a jose or WebCrypto failure on hostile input: still a refusal.
      const name = error instanceof Error ? error.name : typeof error;
      return invalid(`token could not be verified (${name})`);
    }
  }

  async #verify(token: string, nowMs: number): Promise<VerifyResult> {
    if (typeof token !== "string") return invalid("token is not a string");
    if (token.length > MAX_TOKEN_LENGTH) {
      return invalid(`token longer than ${MAX_TOKEN_LENGTH} characters`);
    }
    if (!COMPACT_JWS.test(token)) return invalid("token is not a compact JWS");

    let rawHeader: unknown;
    try {
      rawHeader = decodeProtectedHeader(token);
    } catch {
      return invalid("token header is not base64url JSON");
    }
    const header = TokenHeader.safeParse(rawHeader);
    if (!header.success) return invalid(`token header refused: ${describeIssues(header.error)}`);
    const key = this.#keys.get(header.data.kid);
    if (!key) return invalid("token signed by an unknown key (kid)");

    let payload: Uint8Array;
    try {
      ({ payload } = await compactVerify(token, key.key, { algorithms: [TOKEN_ALGORITHM] }));
    } catch (error) {
      if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
        return invalid("token signature not valid");
      }
      if (error instanceof joseErrors.JOSEError) return invalid(`token refused (${error.code})`);
      throw error;
    }

    let json: unknown;
    try {
      json = JSON.parse(utf8.decode(payload));
    } catch {
      return invalid("token payload is not UTF-8 JSON");
    }
    const claims = TokenClaims.safeParse(json);
    if (!claims.success) return invalid(`token claims refused: ${describeIssues(claims.error)}`);
    const { iat, exp, jti } = claims.data;

    if (iat * 1_000 > nowMs + CLOCK_SKEW_MS) return invalid("token issued in the future");
    if (this.#revoked.has(jti)) {
      return { ok: false, code: "token_revoked", why: `token ${jti} is revoked` };
    }
    if (exp * 1_000 <= nowMs) {
      const expired = new Date(exp * 1_000).toISOString();
      return { ok: false, code: "token_expired", why: `token ${jti} expired at ${expired}` };
    }
    return { ok: true, identity: identityFromClaims(claims.data) };
  }
}

function invalid(why: string): VerifyResult {
  return { ok: false, code: "token_invalid", why };
}
