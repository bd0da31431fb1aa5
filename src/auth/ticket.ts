/**
 * Direct-path tickets: short-lived JWS the relay signs with a key it creates at start, naming the
 * client identity and its token id, the one connector connection, the service, the brokered session
 * and when the path must end (`pxp`: the client token's expiry or the relay's maximum path lifetime,
 * whichever comes first). A connector accepts a direct connection only with a valid ticket for
 * itself (the MVP's P2P port accepted anyone) and closes it at `pxp` unless a fresh ticket for the
 * same session arrives. Verification never throws.
 * @module
 */
import { decodeProtectedHeader, importSPKI, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { SERVICE_ID_PATTERN } from "../protocol/service_id.ts";
import type { ErrorCode } from "../protocol/errors.ts";
import { importPrivateKey } from "./signing_keys.ts";

/** JOSE `typ` of tickets, distinct from tokens so one can never pass for the other. */
export const TICKET_TYPE = "ztna-ticket+jwt";

/** How long a ticket is valid: long enough to punch, short enough to be useless when stolen. */
export const TICKET_TTL_MS = 60_000;

/** What a ticket says. */
export const TicketClaims = z.strictObject({
  iss: z.literal("ztna-relay"),
  sub: z.string().min(1).max(128),
  cid: z.string().min(1).max(64),
  svc: z.string().regex(SERVICE_ID_PATTERN),
  sid: z.string().min(16).max(64),
  /** The client token's id: what a revocation names. */
  tid: z.string().min(16).max(64),
  /** The client token's expiry, ms since the epoch. */
  texp: z.number().int().min(0),
  /** When the path ends (ms since the epoch): `min(texp, issue time + maximum path lifetime)`. */
  pxp: z.number().int().min(0),
  iat: z.number().int(),
  exp: z.number().int(),
});
export type TicketClaims = z.output<typeof TicketClaims>;

/** Signs a ticket. */
export async function issueTicket(
  privatePem: string,
  claims: Omit<TicketClaims, "iss" | "iat" | "exp">,
  nowMs = Date.now(),
): Promise<string> {
  const key = await importPrivateKey(privatePem, "relay ticket key");
  const { cid, svc, sid, tid, texp, pxp } = claims;
  return await new SignJWT({ cid, svc, sid, tid, texp, pxp })
    .setProtectedHeader({ alg: "EdDSA", typ: TICKET_TYPE })
    .setIssuer("ztna-relay")
    .setSubject(claims.sub)
    .setIssuedAt(Math.floor(nowMs / 1000))
    .setExpirationTime(Math.floor((nowMs + TICKET_TTL_MS) / 1000))
    .sign(key.key);
}

/** Outcome of {@link verifyTicket}. */
export type TicketCheck =
  | { ok: true; claims: TicketClaims }
  | {
    ok: false;
    code: Extract<ErrorCode, "token_invalid" | "token_expired" | "unauthorized">;
    why: string;
  };

/** Verifies a ticket for the connector connection `connId`. */
export async function verifyTicket(
  publicPem: string,
  ticket: string,
  connId: string,
  nowMs = Date.now(),
): Promise<TicketCheck> {
  try {
    if (ticket.length > 4_096) return { ok: false, code: "token_invalid", why: "ticket too long" };
    const header = decodeProtectedHeader(ticket);
    if (header.alg !== "EdDSA" || header.typ !== TICKET_TYPE) {
      return { ok: false, code: "token_invalid", why: "not a ticket" };
    }
    const key = await importSPKI(publicPem, "EdDSA");
    const { payload } = await jwtVerify(ticket, key, {
      algorithms: ["EdDSA"],
      typ: TICKET_TYPE,
      currentDate: new Date(nowMs),
      clockTolerance: 5,
    });
    const claims = TicketClaims.safeParse(payload);
    if (!claims.success) {
      return { ok: false, code: "token_invalid", why: "malformed ticket claims" };
    }
    if (claims.data.cid !== connId) {
      return { ok: false, code: "unauthorized", why: "ticket is for another connector" };
    }
    return { ok: true, claims: claims.data };
  } catch (e) {
    const expired = e instanceof Error && "code" in e && e.code === "ERR_JWT_EXPIRED";
    return expired
      ? { ok: false, code: "token_expired", why: "ticket expired" }
      : { ok: false, code: "token_invalid", why: "ticket signature or shape not valid" };
  }
}
