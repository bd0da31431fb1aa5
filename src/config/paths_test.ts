/**
 * Tests of path resolution against the config file's folder.
 * @module
 */
import assert from "node:assert/strict";
import { resolveAgainst, resolveDialerPaths, resolveIntermediatePaths } from "./paths.ts";
import { ClientSection, IntermediateSection } from "./schema.ts";

Deno.test("resolveAgainst() resolves relative paths and keeps absolute ones", () => {
  assert.equal(resolveAgainst("/etc/ztna", "certs/a.pem"), "/etc/ztna/certs/a.pem");
  assert.equal(resolveAgainst("/etc/ztna", "../x.pem"), "/etc/x.pem");
  assert.equal(resolveAgainst("/etc/ztna", "/var/lib/ztna/k.pem"), "/var/lib/ztna/k.pem");
});

Deno.test("resolveIntermediatePaths() makes every path absolute, the default state_dir too", () => {
  const section = IntermediateSection.parse({
    cert: "c.pem",
    key: "/abs/k.pem",
    token_public_keys: ["p1.pem", "sub/p2.pem"],
  });
  const resolved = resolveIntermediatePaths(section, "/etc/ztna");
  assert.equal(resolved.cert, "/etc/ztna/c.pem");
  assert.equal(resolved.key, "/abs/k.pem");
  assert.deepEqual(resolved.token_public_keys, ["/etc/ztna/p1.pem", "/etc/ztna/sub/p2.pem"]);
  assert.equal(resolved.state_dir, "/etc/ztna/state");
  assert.equal("revocation_file" in resolved, false);
});

Deno.test("resolveDialerPaths() resolves ca and token_file when present", () => {
  const section = ClientSection.parse({
    relays: [{ address: "relay.example.com:4433" }],
    forward: [{ listen: "127.0.0.1:8080", service: "web" }],
    ca: "ca.pem",
  });
  const resolved = resolveDialerPaths(section, "/srv");
  assert.equal(resolved.ca, "/srv/ca.pem");
  assert.equal("token_file" in resolved, false);
});
