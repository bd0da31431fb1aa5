/**
 * What the connector's direct paths may do, by their tickets: which relays may sign a ticket, which
 * token ids the relays revoked, and when each accepted path ends. A path is closed at the instant
 * its ticket runs out (`pxp`), or at once when an operator kicks it or its token is revoked.
 * Times are read on this connector's clock.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { type TicketClaims, verifyTicket } from "../auth/mod.ts";
import { type ErrorCode, ERRORS } from "../protocol/mod.ts";

/** A relay this connector is registered with: its ticket key and the id it gave this connection. */
export interface TicketAuthority {
  ticketKey: string;
  connId: string;
}

/** Revoked token ids a connector remembers at most (the oldest is forgotten first). */
export const MAX_REVOKED_IDS = 1_000_000;

/** One accepted direct connection and what its current ticket allows. */
export interface DirectPath {
  readonly conn: Deno.QuicConn;
  readonly identity: string;
  readonly service: string;
  readonly sessionId: string;
  tokenId: string;
  tokenExpiresAt: number;
  endsAt: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** The result of checking a ticket against every relay this connector is registered with. */
export type AuthorityCheck =
  | { ok: true; claims: TicketClaims }
  | { ok: false; code: "unauthenticated"; why: string };

/** The live direct paths of one listener and the tickets that bound them. */
export class PathTickets {
  readonly authorities = new Set<TicketAuthority>();
  readonly #paths = new Map<Deno.QuicConn, DirectPath>();
  /** Token ids the relays said are revoked; a union over every relay and connection. */
  readonly #revoked = new Set<string>();

  constructor(readonly log: Logger) {}

  /** Whether `path` is still open (not ended by a kick, a revocation or its ticket's end). */
  has(path: DirectPath): boolean {
    return this.#paths.get(path.conn) === path;
  }

  /** Checks a ticket against every relay this connector is registered with. */
  async check(ticket: string): Promise<AuthorityCheck> {
    let last: AuthorityCheck = { ok: false, code: "unauthenticated", why: "no relay session" };
    for (const a of this.authorities) {
      const r = await verifyTicket(a.ticketKey, ticket, a.connId);
      if (r.ok) return r;
      last = { ok: false, code: "unauthenticated", why: r.why };
    }
    return last;
  }

  /** Why a ticket with `claims` may not bound a path now, or undefined when it may. */
  refusal(claims: TicketClaims): ErrorCode | undefined {
    if (this.#revoked.has(claims.tid)) return "token_revoked";
    const now = Date.now();
    if (now >= claims.texp) return "token_expired";
    if (now >= claims.pxp) return "path_expired";
    return undefined;
  }

  /** Opens the path of `conn` under `claims` (already checked) and arms its end. */
  open(conn: Deno.QuicConn, claims: TicketClaims): DirectPath {
    const path: DirectPath = {
      conn,
      identity: claims.sub,
      service: claims.svc,
      sessionId: claims.sid,
      tokenId: claims.tid,
      tokenExpiresAt: claims.texp,
      endsAt: claims.pxp,
    };
    this.#paths.set(conn, path);
    this.#arm(path);
    return path;
  }

  /** Takes a fresh ticket's `claims` (already checked) as `path`'s limits. */
  renew(path: DirectPath, claims: TicketClaims): void {
    path.tokenId = claims.tid;
    path.tokenExpiresAt = claims.texp;
    path.endsAt = claims.pxp;
    this.#arm(path);
  }

  /** Forgets `conn`'s path once its connection is gone. */
  forget(conn: Deno.QuicConn): void {
    clearTimeout(this.#paths.get(conn)?.timer);
    this.#paths.delete(conn);
  }

  /** Why `path` may serve nothing more now, or undefined while its ticket holds. */
  expired(path: DirectPath, now = Date.now()): ErrorCode | undefined {
    if (this.#revoked.has(path.tokenId)) return "token_revoked";
    if (now >= path.tokenExpiresAt) return "token_expired";
    if (now >= path.endsAt) return "path_expired";
    return undefined;
  }

  /**
   * Closes the direct paths of `identity` (an operator kicked it), or only those for `service`
   * (the relay's access policy took it away: `unauthorized`); returns how many.
   */
  kick(identity: string, service?: string): number {
    if (service === undefined) return this.#closeWhere((p) => p.identity === identity, "kicked");
    return this.#closeWhere(
      (p) => p.identity === identity && p.service === service,
      "unauthorized",
    );
  }

  /**
   * Remembers revoked token ids and closes the direct paths that hold one; returns how many.
   * The set only grows (bounded): a relay replays its whole set at every registration.
   */
  revokeTokens(tokenIds: readonly string[]): number {
    for (const id of tokenIds) {
      this.#revoked.delete(id); // re-inserted as the newest
      this.#revoked.add(id);
    }
    for (const id of this.#revoked) {
      if (this.#revoked.size <= MAX_REVOKED_IDS) break;
      this.#revoked.delete(id);
    }
    return this.#closeWhere((p) => this.#revoked.has(p.tokenId), "token_revoked");
  }

  #closeWhere(
    match: (p: DirectPath) => boolean,
    code: "kicked" | "token_revoked" | "unauthorized",
  ): number {
    let n = 0;
    for (const path of this.#paths.values()) {
      if (!match(path)) continue;
      this.end(path, code);
      n++;
    }
    return n;
  }

  /** Closes one path with `code` and says so once. */
  end(path: DirectPath, code: ErrorCode): void {
    if (!this.#paths.delete(path.conn)) return;
    clearTimeout(path.timer);
    this.log.warn("Closed the direct path of {identity} for {service}: {code}", {
      identity: path.identity,
      service: path.service,
      code,
    });
    try {
      path.conn.close({ closeCode: ERRORS[code].wire, reason: code });
    } catch { /* already closed */ }
  }

  /** Arms the timer that ends `path` at the instant its ticket runs out. */
  #arm(path: DirectPath): void {
    clearTimeout(path.timer);
    const ms = Math.max(0, Math.min(path.endsAt - Date.now(), 2 ** 31 - 1));
    path.timer = setTimeout(() => {
      const code = this.expired(path);
      if (code) this.end(path, code);
      else this.#arm(path); // a timer fired early
    }, ms);
  }
}
