import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import type { Identity } from "../auth/mod.ts";
import type { Hello } from "../protocol/mod.ts";
import { checkHello, commonVersion } from "./hello_check.ts";

const alice: Identity = {
  subject: "alice",
  role: "client",
  services: ["web"],
  tokenId: "AAAAAAAAAAAAAAAAAAAAAA",
  expiresAtMs: 1_700_000_060_000,
};
const log = getLogger(["ztna", "test"]);
const hello = (over: Partial<Hello> = {}): Hello => ({
  type: "hello",
  versions: [3, 2],
  role: "client",
  token: "t",
  ...over,
});
const deps = {
  verify: (token: string) =>
    Promise.resolve(
      token === "t"
        ? { ok: true as const, identity: { ...alice } }
        : { ok: false as const, code: "token_invalid" as const, why: "bad signature" },
    ),
  login: (idToken: string) =>
    Promise.resolve(
      idToken === "id"
        ? { ok: true as const, grant: { token: "issued", identity: { ...alice } } }
        : { ok: false as const, code: "unauthenticated" as const, why: "bad id token" },
    ),
};

Deno.test("commonVersion takes the highest shared version, none when disjoint", () => {
  assert.equal(commonVersion([2, 3, 99]), 3);
  assert.equal(commonVersion([1, 99]), undefined);
});

Deno.test("checkHello accepts a valid token with the agreed version", async () => {
  const out = await checkHello(hello(), deps, log);
  assert.deepEqual(out, { ok: true, identity: alice, version: 3 });
});

Deno.test("checkHello refuses: no shared version, no token, bad token, wrong role", async () => {
  const codes = await Promise.all([
    checkHello(hello({ versions: [1] }), deps, log),
    checkHello(hello({ token: "" }), deps, log),
    checkHello(hello({ token: "forged" }), deps, log),
    checkHello(hello({ role: "connector" }), deps, log),
  ]);
  assert.deepEqual(codes.map((o) => o.ok ? "ok" : o.code), [
    "version_unsupported",
    "unauthenticated",
    "token_invalid",
    "role_mismatch",
  ]);
  // Past version negotiation the refusal carries the version agreed (the REFUSED is sent in it).
  assert.deepEqual(codes.map((o) => o.version), [undefined, 3, 3, 3]);
});

Deno.test("checkHello logs a person in with an ID token, and only a client without token", async () => {
  const ok = await checkHello(hello({ token: "", id_token: "id" }), deps, log);
  assert.deepEqual(ok, { ok: true, identity: alice, version: 3, issuedToken: "issued" });
  const refused = await Promise.all([
    checkHello(
      hello({ token: "", id_token: "id" }),
      { verify: deps.verify, login: undefined },
      log,
    ),
    checkHello(hello({ token: "t", id_token: "id" }), deps, log),
    checkHello(hello({ token: "", id_token: "id", role: "connector" }), deps, log),
    checkHello(hello({ token: "", id_token: "stolen" }), deps, log),
  ]);
  assert.deepEqual(refused.map((o) => o.ok ? "ok" : `${o.code}: ${o.why}`), [
    "unauthenticated: login without [intermediate.oidc]",
    "unauthenticated: login HELLO must be a client's, without token",
    "unauthenticated: login HELLO must be a client's, without token",
    "unauthenticated: bad id token",
  ]);
});
