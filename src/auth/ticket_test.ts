import assert from "node:assert/strict";
import fc from "fast-check";
import { generateSigningKeyPair } from "./signing_keys.ts";
import { issueTicket, TICKET_TTL_MS, verifyTicket } from "./ticket.ts";
import { issueToken } from "./token_issuer.ts";

const keys = await generateSigningKeyPair();
const claims = {
  sub: "alice",
  cid: "conn0001",
  svc: "web",
  sid: "abcdefghijklmnop",
  tid: "tokenid-0123456789",
  texp: Date.now() + 3_600_000,
  pxp: Date.now() + 600_000,
};

Deno.test("verifyTicket() accepts a fresh ticket for this connector", async () => {
  const t = await issueTicket(keys.privatePem, claims);
  const r = await verifyTicket(keys.publicPem, t, "conn0001");
  assert.ok(r.ok && r.claims.sub === "alice" && r.claims.svc === "web");
});

Deno.test("verifyTicket() refuses a ticket for another connector: unauthorized", async () => {
  const r = await verifyTicket(
    keys.publicPem,
    await issueTicket(keys.privatePem, claims),
    "conn0002",
  );
  assert.equal(!r.ok && r.code, "unauthorized");
});

Deno.test("verifyTicket() refuses an expired ticket: token_expired", async () => {
  const t = await issueTicket(keys.privatePem, claims, Date.now() - TICKET_TTL_MS - 60_000);
  const r = await verifyTicket(keys.publicPem, t, "conn0001");
  assert.equal(!r.ok && r.code, "token_expired");
});

Deno.test("verifyTicket() refuses a ticket signed by another key and a client token", async () => {
  const other = await generateSigningKeyPair();
  const forged = await issueTicket(other.privatePem, claims);
  assert.equal((await verifyTicket(keys.publicPem, forged, "conn0001")).ok, false);
  const token = await issueToken(keys.privatePem, {
    subject: "alice",
    role: "client",
    services: ["web"],
    ttlSeconds: 60,
  });
  const asTicket = await verifyTicket(keys.publicPem, token.token, "conn0001");
  assert.equal(!asTicket.ok && asTicket.code, "token_invalid", "a token is not a ticket");
});

Deno.test("verifyTicket() answers arbitrary and bit-flipped input without throwing", async () => {
  const good = await issueTicket(keys.privatePem, claims);
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 600 }), async (s) => {
      assert.equal((await verifyTicket(keys.publicPem, s, "conn0001")).ok, false);
    }),
    { numRuns: 150 },
  );
  await fc.assert(
    fc.asyncProperty(fc.nat(good.length - 1), fc.constantFrom("A", "b", "_", "."), async (i, c) => {
      const flipped = good.slice(0, i) + c + good.slice(i + 1);
      if (flipped === good) return;
      const r = await verifyTicket(keys.publicPem, flipped, "conn0001");
      assert.ok(typeof r.ok === "boolean");
    }),
    { numRuns: 150 },
  );
});

Deno.test("verifyTicket() hands the connector the token id and both ends of the path", async () => {
  const r = await verifyTicket(
    keys.publicPem,
    await issueTicket(keys.privatePem, claims),
    "conn0001",
  );
  assert.ok(r.ok);
  assert.equal(r.claims.tid, claims.tid);
  assert.equal(r.claims.texp, claims.texp);
  assert.equal(r.claims.pxp, claims.pxp);
});
