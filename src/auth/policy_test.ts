/**
 * Tests of the HELLO, registration and flow decisions.
 * @module
 */
import assert from "node:assert/strict";
import { authorizeFlow, authorizeHello, authorizeRegistration, type Decision } from "./policy.ts";
import type { Identity } from "./token_claims.ts";

const NOW_MS = 1_700_000_000_000;
const client: Identity = {
  subject: "alice",
  role: "client",
  services: ["db", "web"],
  tokenId: "AAAAAAAAAAAAAAAAAAAAAA",
  expiresAtMs: NOW_MS + 60_000,
};
const connector: Identity = { ...client, subject: "dc-1", role: "connector", services: ["db"] };
const wildcard: Identity = { ...connector, services: ["*"] };

function code(d: Decision): string {
  return d.allow ? "allow" : d.code;
}

Deno.test("authorizeHello() requires the HELLO role to be the token's role", () => {
  assert.deepEqual(authorizeHello(client, "client"), { allow: true });
  assert.equal(code(authorizeHello(client, "connector")), "role_mismatch");
  assert.equal(code(authorizeHello(connector, "client")), "role_mismatch");
});

Deno.test("authorizeRegistration() lets connectors serve only granted services", () => {
  assert.equal(code(authorizeRegistration(connector, "db")), "allow");
  assert.equal(code(authorizeRegistration(connector, "web")), "unauthorized");
  assert.equal(code(authorizeRegistration(wildcard, "anything")), "allow");
  assert.equal(code(authorizeRegistration(client, "db")), "unauthorized");
  assert.equal(code(authorizeRegistration(wildcard, "*")), "invalid_service_id");
  assert.equal(code(authorizeRegistration(wildcard, "Bad Id")), "invalid_service_id");
});

Deno.test("authorizeFlow() lets clients open flows only to granted services", () => {
  assert.equal(code(authorizeFlow(client, "db")), "allow");
  assert.equal(code(authorizeFlow(client, "web")), "allow");
  assert.equal(code(authorizeFlow(client, "ssh")), "unauthorized");
  assert.equal(code(authorizeFlow({ ...client, services: ["*"] }, "ssh")), "allow");
  assert.equal(code(authorizeFlow(connector, "db")), "unauthorized");
  assert.equal(code(authorizeFlow(client, "")), "invalid_service_id");
  assert.equal(code(authorizeFlow(client, "x".repeat(64))), "invalid_service_id");
});

Deno.test("authorizeFlow() and authorizeRegistration() refuse a token expired since HELLO", () => {
  const at = (ms: number) => ({ nowMs: ms });
  // Expiry is strict (the skew applies to issue time only): 1 ms before is allowed, at exp is not.
  assert.equal(code(authorizeFlow(client, "db", at(client.expiresAtMs - 1))), "allow");
  assert.equal(code(authorizeFlow(client, "db", at(client.expiresAtMs))), "token_expired");
  assert.equal(
    code(authorizeRegistration(connector, "db", at(connector.expiresAtMs))),
    "token_expired",
  );
});

Deno.test("Decision reasons name the identity and service but never the token id", () => {
  const d = authorizeFlow(client, "ssh");
  assert.ok(!d.allow);
  assert.match(d.why, /alice/);
  assert.match(d.why, /ssh/);
  assert.doesNotMatch(d.why, /AAAAAAAA/);
});
