/**
 * What a connector or client can tell about its own token before it dials: the claims, read
 * without verifying the signature (only relays hold the public keys), checked against its role,
 * the services its config uses and the clock, so a token that cannot work is named at start with
 * the command that would reissue it instead of surfacing as empty replies.
 * Pure: no I/O; the clock is passed in.
 * @module
 */
import { type TokenClaims, TokenClaims as ClaimsSchema } from "./token_claims.ts";

/** One reason the token will not do what the config asks. */
export interface TokenMisfit {
  /** `role`: never works; `expired`, `services`: the relay will refuse (its clock decides). */
  kind: "role" | "expired" | "services" | "unreadable";
  message: string;
}

/** The token's claims as it states them (unverified), or undefined when they cannot be read. */
export function readClaims(token: string): TokenClaims | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const json = new TextDecoder().decode(
      Uint8Array.from(atob(payload.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)),
    );
    const parsed = ClaimsSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks the token against what this process is about to do.
 * @param services the service ids the config uses (forwards or connector services)
 */
export function tokenMisfits(
  token: string,
  want: { role: "client" | "connector"; services: readonly string[]; nowMs: number },
): TokenMisfit[] {
  const claims = readClaims(token);
  if (claims === undefined) {
    return [{
      kind: "unreadable",
      message: "the token's claims cannot be read (not a ztna token?); issue a new one with " +
        `"ztna admin token issue --role ${want.role} …"`,
    }];
  }
  const reissue = (services: readonly string[]) =>
    `ztna admin token issue --signing-key <key> --role ${want.role} ${
      services.map((s) => `--service ${s}`).join(" ")
    } --subject ${JSON.stringify(claims.sub).slice(1, -1)} --ttl 30d --out <file>`;
  const out: TokenMisfit[] = [];
  const needed = [...new Set(want.services)];
  if (claims.role !== want.role) {
    out.push({
      kind: "role",
      message: `the token (id ${claims.jti}, subject ${claims.sub}) is a ${claims.role} token, ` +
        `but this is a ${want.role}; issue a ${want.role} token: ${reissue(needed)}`,
    });
    return out;
  }
  if (claims.exp * 1_000 <= want.nowMs) {
    out.push({
      kind: "expired",
      message: `the token (id ${claims.jti}, subject ${claims.sub}) expired at ${
        new Date(claims.exp * 1_000).toISOString()
      }; the relay will refuse it: issue a new one: ${reissue(needed)}`,
    });
  }
  const missing = needed.filter((s) => !claims.svc.includes("*") && !claims.svc.includes(s));
  if (missing.length > 0) {
    out.push({
      kind: "services",
      message:
        `the token (id ${claims.jti}, subject ${claims.sub}) grants ${claims.svc.join(", ")}, not ${
          missing.join(", ")
        }, which this config uses; the relay will refuse ` +
        `${want.role === "client" ? "flows" : "registrations"} for ${
          missing.length === 1 ? "it" : "them"
        }: issue a token that grants them: ${reissue([...new Set([...claims.svc, ...missing])])}`,
    });
  }
  return out;
}
