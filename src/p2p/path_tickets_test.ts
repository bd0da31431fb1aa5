/** Unit tests of PathTickets: refusals, kicks, revocations and ends by ticket, on fake connections. */
import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { ERRORS } from "../protocol/mod.ts";
import type { TicketClaims } from "../auth/mod.ts";
import { PathTickets } from "./path_tickets.ts";

/** A connection that records how it was closed. */
function fakeConn(): { conn: Deno.QuicConn; closes: Array<{ closeCode: number; reason: string }> } {
  const closes: Array<{ closeCode: number; reason: string }> = [];
  const conn = { close: (info: { closeCode: number; reason: string }) => closes.push(info) };
  return { conn: conn as unknown as Deno.QuicConn, closes };
}

function claims(over: Partial<TicketClaims> = {}): TicketClaims {
  const now = Date.now();
  return {
    iss: "ztna-relay",
    sub: "alice",
    cid: "conn-1",
    svc: "web",
    sid: "session-1",
    tid: "token-1",
    texp: now + 60_000,
    pxp: now + 60_000,
    iat: Math.floor(now / 1000),
    exp: Math.floor(now / 1000) + 60,
    ...over,
  };
}

const log = getLogger(["ztna", "test"]);

Deno.test("PathTickets.refusal names a revoked, expired or path-expired ticket", () => {
  const tickets = new PathTickets(log);
  const now = Date.now();
  assert.equal(tickets.refusal(claims()), undefined);
  assert.equal(tickets.refusal(claims({ texp: now - 1 })), "token_expired");
  assert.equal(tickets.refusal(claims({ pxp: now - 1 })), "path_expired");
  tickets.revokeTokens(["token-1"]);
  assert.equal(tickets.refusal(claims()), "token_revoked");
});

Deno.test("PathTickets.check without a relay session is unauthenticated", async () => {
  const check = await new PathTickets(log).check("not.a.ticket");
  assert.deepEqual(check, { ok: false, code: "unauthenticated", why: "no relay session" });
});

Deno.test("PathTickets.kick closes an identity's paths, or only one service's as unauthorized", () => {
  const tickets = new PathTickets(log);
  const web = fakeConn();
  const db = fakeConn();
  const bob = fakeConn();
  const webPath = tickets.open(web.conn, claims());
  tickets.open(db.conn, claims({ svc: "db" }));
  tickets.open(bob.conn, claims({ sub: "bob" }));
  assert.equal(tickets.kick("alice", "db"), 1);
  assert.deepEqual(db.closes, [{ closeCode: ERRORS.unauthorized.wire, reason: "unauthorized" }]);
  assert.ok(tickets.has(webPath));
  assert.equal(tickets.kick("alice"), 1);
  assert.deepEqual(web.closes, [{ closeCode: ERRORS.kicked.wire, reason: "kicked" }]);
  assert.equal(tickets.has(webPath), false);
  assert.equal(tickets.kick("alice"), 0, "a path is ended once");
  assert.deepEqual(bob.closes, []);
  tickets.forget(bob.conn);
});

Deno.test("PathTickets.revokeTokens closes the paths holding a revoked token id", () => {
  const tickets = new PathTickets(log);
  const held = fakeConn();
  const other = fakeConn();
  tickets.open(held.conn, claims());
  const otherPath = tickets.open(other.conn, claims({ tid: "token-2" }));
  assert.equal(tickets.revokeTokens(["token-1", "token-9"]), 1);
  assert.deepEqual(held.closes, [{
    closeCode: ERRORS.token_revoked.wire,
    reason: "token_revoked",
  }]);
  assert.equal(tickets.expired(otherPath), undefined);
  tickets.forget(other.conn);
});

Deno.test("PathTickets ends a path at its ticket's end unless renewed", async () => {
  const tickets = new PathTickets(log);
  const { conn, closes } = fakeConn();
  const path = tickets.open(conn, claims({ pxp: Date.now() + 100 }));
  tickets.renew(path, claims({ tid: "token-2", pxp: Date.now() + 300 }));
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(closes, [], "the renewed ticket holds");
  for (let i = 0; i < 40 && closes.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(closes, [{ closeCode: ERRORS.path_expired.wire, reason: "path_expired" }]);
  assert.equal(tickets.has(path), false);
});
