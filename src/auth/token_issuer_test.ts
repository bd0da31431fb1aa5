/**
 * Tests of issueToken(): header, claims, pinned clock and randomness, refused requests.
 * @module
 */
import assert from "node:assert/strict";
import { base64url, decodeJwt, decodeProtectedHeader } from "jose";
import { generateSigningKeyPair, importPrivateKey, SigningKeyError } from "./signing_keys.ts";
import { issueToken, type TokenRequest } from "./token_issuer.ts";

const NOW_MS = 1_700_000_000_500;
const REQUEST: TokenRequest = {
  subject: "alice",
  role: "client",
  services: ["db"],
  ttlSeconds: 3_600,
};
const fixedRandom = (bytes: Uint8Array<ArrayBuffer>) => bytes.fill(7);

Deno.test("issueToken() signs an EdDSA ztna+jwt with kid and the requested claims", async () => {
  const pair = await generateSigningKeyPair();
  const issued = await issueToken(pair.privatePem, REQUEST, { nowMs: NOW_MS, random: fixedRandom });
  assert.equal(issued.tokenId, base64url.encode(new Uint8Array(16).fill(7)));
  assert.equal(issued.tokenId.length, 22);
  assert.equal(issued.expiresAtMs, 1_700_003_600_000);
  assert.deepEqual(decodeProtectedHeader(issued.token), {
    alg: "EdDSA",
    typ: "ztna+jwt",
    kid: pair.kid,
  });
  assert.deepEqual(decodeJwt(issued.token), {
    iss: "ztna",
    sub: "alice",
    role: "client",
    svc: ["db"],
    iat: 1_700_000_000,
    exp: 1_700_003_600,
    jti: issued.tokenId,
  });
});

Deno.test("issueToken() accepts an imported key and draws a fresh id each time", async () => {
  const key = await importPrivateKey((await generateSigningKeyPair()).privatePem);
  const a = await issueToken(key, REQUEST);
  const b = await issueToken(key, REQUEST);
  assert.notEqual(a.tokenId, b.tokenId);
  assert.match(a.tokenId, /^[A-Za-z0-9_-]{22}$/);
  assert.ok(a.expiresAtMs > Date.now());
});

Deno.test("issueToken() refuses requests that would not verify", async (t) => {
  const key = await importPrivateKey((await generateSigningKeyPair()).privatePem);
  const cases: Array<[string, Partial<TokenRequest>]> = [
    ["ttl 0", { ttlSeconds: 0 }],
    ["negative ttl", { ttlSeconds: -5 }],
    ["fractional ttl", { ttlSeconds: 1.5 }],
    ["ttl over 3650 days", { ttlSeconds: 3_650 * 86_400 + 1 }],
    ["empty subject", { subject: "" }],
    ["subject with control characters", { subject: "bob\r\nrole: admin" }],
    ["no services", { services: [] }],
    ["bad service id", { services: ["Bad Id"] }],
    ["duplicate services", { services: ["db", "db"] }],
  ];
  for (const [name, patch] of cases) {
    await t.step(name, async () => {
      await assert.rejects(issueToken(key, { ...REQUEST, ...patch }), RangeError);
    });
  }
  await t.step("ttl of exactly 3650 days is fine", async () => {
    await issueToken(key, { ...REQUEST, ttlSeconds: 3_650 * 86_400 });
  });
});

Deno.test("issueToken() refuses a PEM that is not an Ed25519 private key", async () => {
  const pair = await generateSigningKeyPair();
  await assert.rejects(issueToken(pair.publicPem, REQUEST), SigningKeyError);
});
