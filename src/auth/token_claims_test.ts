/**
 * Tests of the token payload schema, identity mapping and grantsService().
 * @module
 */
import assert from "node:assert/strict";
import { grantsService, type Identity, identityFromClaims, TokenClaims } from "./token_claims.ts";

const VALID = {
  iss: "ztna",
  sub: "alice@example.com",
  role: "client",
  svc: ["db", "web.internal"],
  iat: 1_700_000_000,
  exp: 1_700_003_600,
  jti: "AAAAAAAAAAAAAAAAAAAAAA",
};

Deno.test("TokenClaims accepts a well-formed payload", () => {
  assert.deepEqual(TokenClaims.parse(VALID), VALID);
  assert.ok(TokenClaims.safeParse({ ...VALID, role: "connector", svc: ["*"] }).success);
  assert.ok(TokenClaims.safeParse({ ...VALID, sub: "Zoë Ünïcode" }).success);
});

Deno.test("TokenClaims refuses each malformed claim", async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ["another issuer", { iss: "other" }],
    ["an empty subject", { sub: "" }],
    ["a 129-character subject", { sub: "a".repeat(129) }],
    ["a subject with a newline", { sub: "alice\nadmin" }],
    ["a subject with an escape character", { sub: "alice\u001b[31m" }],
    ["a subject with a zero-width character", { sub: "ali\u200bce" }],
    ["an unknown role", { role: "intermediate" }],
    ["no services", { svc: [] }],
    ["257 services", { svc: Array.from({ length: 257 }, (_, i) => `s${i}`) }],
    ["an invalid service id", { svc: ["DB"] }],
    ["a partial wildcard", { svc: ["db*"] }],
    ["duplicate services", { svc: ["db", "db"] }],
    ["a fractional iat", { iat: 1.5 }],
    ["exp equal to iat", { exp: VALID.iat }],
    ["a lifetime over 3650 days", { exp: VALID.iat + 3_651 * 86_400 }],
    ["a short jti", { jti: "abc" }],
    ["a jti with padding", { jti: "AAAAAAAAAAAAAAAAAAAAAA==" }],
    ["an unknown claim", { admin: true }],
    ["a missing claim", { jti: undefined }],
  ];
  for (const [name, patch] of cases) {
    await t.step(name, () => {
      assert.equal(TokenClaims.safeParse({ ...VALID, ...patch }).success, false);
    });
  }
});

Deno.test("identityFromClaims() maps claims and converts expiry to milliseconds", () => {
  assert.deepEqual(identityFromClaims(TokenClaims.parse(VALID)), {
    subject: "alice@example.com",
    role: "client",
    services: ["db", "web.internal"],
    tokenId: "AAAAAAAAAAAAAAAAAAAAAA",
    expiresAtMs: 1_700_003_600_000,
  });
});

Deno.test("grantsService() matches exact ids and the wildcard only", () => {
  const identity: Identity = {
    subject: "a",
    role: "client",
    services: ["db"],
    tokenId: "AAAAAAAAAAAAAAAAAAAAAA",
    expiresAtMs: 0,
  };
  assert.equal(grantsService(identity, "db"), true);
  assert.equal(grantsService(identity, "db2"), false);
  assert.equal(grantsService(identity, "d"), false);
  assert.equal(grantsService(identity, "*"), false);
  assert.equal(grantsService({ ...identity, services: ["*"] }, "anything"), true);
});
