/**
 * The token as this machine reads it: its claims without the signature check (only relays hold the
 * public keys) and whether it has expired by this machine's clock. Never the token itself.
 * Pure: no I/O; the clock is passed in.
 * @module
 */
import { readClaims } from "../auth/token_fit.ts";
import type { TokenFacts } from "./report.ts";

/** What the token says of itself at `nowMs`. */
export function tokenFacts(token: string, nowMs: number): TokenFacts {
  const claims = readClaims(token);
  if (claims === undefined) return { readable: false };
  return {
    readable: true,
    id: claims.jti,
    subject: claims.sub,
    role: claims.role,
    services: [...claims.svc],
    expiresAt: new Date(claims.exp * 1_000).toISOString(),
    expired: claims.exp * 1_000 <= nowMs,
  };
}
