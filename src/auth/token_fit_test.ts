/**
 * Tests of tokenMisfits(): what a client or connector says at start about a token that cannot
 * work, with the command that reissues it.
 * @module
 */
import assert from "node:assert/strict";
import { generateSigningKeyPair, importPrivateKey, issueToken } from "./mod.ts";
import { readClaims, tokenMisfits } from "./token_fit.ts";

const NOW_MS = Date.UTC(2030, 0, 1);
const key = await importPrivateKey((await generateSigningKeyPair()).privatePem, "test key");

async function token(role: "client" | "connector", services: string[], ttlSeconds = 3_600) {
  return (await issueToken(key, { subject: "alice", role, services, ttlSeconds }, {
    nowMs: NOW_MS,
  })).token;
}

Deno.test("tokenMisfits() accepts a token that grants what the config uses", async () => {
  const t = await token("client", ["web", "db"]);
  assert.deepEqual(tokenMisfits(t, { role: "client", services: ["web"], nowMs: NOW_MS }), []);
  const all = await token("client", ["*"]);
  assert.deepEqual(tokenMisfits(all, { role: "client", services: ["x"], nowMs: NOW_MS }), []);
  assert.equal(readClaims(t)?.sub, "alice");
});

Deno.test("tokenMisfits() names a token of the other role with the reissue command", async () => {
  const t = await token("connector", ["web"]);
  const [misfit] = tokenMisfits(t, { role: "client", services: ["web"], nowMs: NOW_MS });
  assert.equal(misfit.kind, "role");
  assert.match(misfit.message, /is a connector token, but this is a client/);
  assert.match(
    misfit.message,
    /ztna admin token issue .*--role client --service web --subject alice/,
  );
});

Deno.test("tokenMisfits() names expiry and missing services", async () => {
  const t = await token("client", ["web"], 60);
  const misfits = tokenMisfits(t, {
    role: "client",
    services: ["web", "db"],
    nowMs: NOW_MS + 61_000,
  });
  assert.deepEqual(misfits.map((m) => m.kind), ["expired", "services"]);
  assert.match(misfits[0].message, /expired at 2030-01-01T00:01:00\.000Z/);
  assert.match(misfits[1].message, /grants web, not db, which this config uses/);
  assert.match(misfits[1].message, /--service web --service db/);
});

Deno.test("tokenMisfits() says a non-token cannot be read, without echoing it", () => {
  const [misfit] = tokenMisfits("aaa.secretpart.ccc", { role: "client", services: [], nowMs: 0 });
  assert.equal(misfit.kind, "unreadable");
  assert.ok(!misfit.message.includes("secretpart"));
});
