/**
 * Tests of the optional `grp` claim: a person's groups travel in the token to the identity the
 * access policy reads; machine tokens carry none; bad group names are refused at issue.
 * @module
 */
import assert from "node:assert/strict";
import { generateSigningKeyPair, importPublicKeys, issueToken, TokenVerifier } from "./mod.ts";

const NOW = 1_800_000_000_000;

Deno.test("issueToken() with groups: the verified identity carries them", async () => {
  const keys = await generateSigningKeyPair();
  const verifier = new TokenVerifier(await importPublicKeys([{ path: "k", pem: keys.publicPem }]));
  const person = await issueToken(keys.privatePem, {
    subject: "alice@example.com",
    role: "client",
    services: ["*"],
    ttlSeconds: 900,
    groups: ["engineering", "oncall"],
  }, { nowMs: NOW });
  const machine = await issueToken(keys.privatePem, {
    subject: "ci-bot",
    role: "client",
    services: ["git"],
    ttlSeconds: 900,
  }, { nowMs: NOW });
  const a = await verifier.verify(person.token, NOW);
  const m = await verifier.verify(machine.token, NOW);
  assert.ok(a.ok && m.ok);
  assert.deepEqual(a.identity.groups, ["engineering", "oncall"]);
  assert.equal(m.identity.groups, undefined);
});

Deno.test("issueToken() refuses a group name with control characters", async () => {
  const keys = await generateSigningKeyPair();
  await assert.rejects(
    issueToken(keys.privatePem, {
      subject: "alice",
      role: "client",
      services: ["*"],
      ttlSeconds: 60,
      groups: ["bad\u0007group"],
    }),
    RangeError,
  );
});
