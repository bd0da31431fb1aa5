/**
 * Tests of admin token making, hashing, hash files and bearer checks.
 * @module
 */
import assert from "node:assert/strict";
import {
  ADMIN_TOKEN_PREFIX,
  AdminAuthenticator,
  adminTokenId,
  bearerToken,
  constantTimeEqual,
  generateAdminToken,
  hashAdminToken,
  parseTokenHashFile,
} from "./admin_auth.ts";

Deno.test("hashAdminToken() is SHA-256 of the UTF-8 bytes, as sha256:<hex>", async () => {
  assert.equal(
    await hashAdminToken("abc"),
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(adminTokenId(await hashAdminToken("abc")), "ba7816bf8f01");
});

Deno.test("generateAdminToken() makes 256 random bits behind a recognisable prefix", () => {
  const a = generateAdminToken();
  assert.match(a, new RegExp(`^${ADMIN_TOKEN_PREFIX}[A-Za-z0-9_-]{43}$`));
  assert.notEqual(a, generateAdminToken());
  assert.equal(generateAdminToken((b) => b.fill(0)), `${ADMIN_TOKEN_PREFIX}${"A".repeat(43)}`);
});

Deno.test("bearerToken() takes only a well-formed Bearer header", () => {
  assert.equal(bearerToken("Bearer abc.def"), "abc.def");
  assert.equal(bearerToken("bearer  abc "), "abc");
  for (const bad of [null, "", "Bearer", "Bearer ", "Basic abc", "Bearer a b", "Bearer é"]) {
    assert.equal(bearerToken(bad), undefined, String(bad));
  }
});

Deno.test("constantTimeEqual() compares whole arrays", () => {
  assert.ok(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])));
  assert.ok(!constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])));
  assert.ok(!constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3])));
});

Deno.test("parseTokenHashFile() keeps hashes, skips comments, reports lines without echoing them", () => {
  const hash = `sha256:${"a".repeat(64)}`;
  const parsed = parseTokenHashFile(
    `# admins\n${hash}  # alice\n\nztna_admin_secretvalue\nsha256:ABC\n`,
  );
  assert.deepEqual(parsed.hashes, [hash]);
  assert.deepEqual(parsed.errors.map((e) => e.line), [4, 5]);
  assert.ok(!JSON.stringify(parsed.errors).includes("secretvalue"));
});

Deno.test("AdminAuthenticator accepts a token of any source and names its actor", async () => {
  const auth = new AdminAuthenticator();
  assert.deepEqual(await auth.authenticate("Bearer x"), { ok: false, why: "unknown" });
  auth.setSource("config", [{ hash: await hashAdminToken("one") }]);
  auth.setSource("store", [{ hash: await hashAdminToken("two"), label: "ops" }]);
  const one = await auth.authenticate("Bearer one");
  assert.ok(one.ok && one.actor.startsWith("admin:config-"));
  assert.deepEqual(await auth.authenticate("Bearer two"), {
    ok: true,
    actor: "admin:ops",
    tokenId: adminTokenId(await hashAdminToken("two")),
  });
  assert.deepEqual(await auth.authenticate(null), { ok: false, why: "missing" });
  assert.deepEqual(await auth.authenticate("Token one"), { ok: false, why: "malformed" });
  assert.deepEqual(await auth.authenticate(`Bearer ${"x".repeat(513)}`), {
    ok: false,
    why: "malformed",
  });
  auth.setSource("store", []);
  assert.equal((await auth.authenticate("Bearer two")).ok, false, "replacing a source drops it");
  assert.equal((await auth.authenticate("Bearer one")).ok, true, "other sources stay");
  assert.throws(() => auth.setSource("file", [{ hash: "md5:abc" }]), RangeError);
});
