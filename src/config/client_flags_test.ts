/**
 * The client's command-line config: forwards parsed and checked with the flag named, and the
 * sandbox's `net` covering the listeners the flags add.
 * @module
 */
import assert from "node:assert/strict";
import { loadClientFlagsConfig, parseForwardFlag } from "./client_flags.ts";
import { ConfigError } from "./config_error.ts";
import { roleNetPermissions } from "../sandbox/role_permissions.ts";

const ENV = { ZTNA_TOKEN: "a.b.c" };

Deno.test("--forward takes SERVICE=HOST:PORT, SERVICE=PORT (loopback) and /udp", () => {
  assert.deepEqual(parseForwardFlag("web=127.0.0.1:8080"), {
    service: "web",
    listen: "127.0.0.1:8080",
    protocol: "tcp",
  });
  assert.deepEqual(parseForwardFlag("DNS=5353/udp"), {
    service: "dns",
    listen: "127.0.0.1:5353",
    protocol: "udp",
  });
  for (const bad of ["web", "=8080", "web=host", "web=8080/sctp", "we b=8080"]) {
    assert.throws(
      () => parseForwardFlag(bad),
      (e) => e instanceof ConfigError && e.keyPath === "--forward",
      bad,
    );
  }
});

Deno.test("flags alone make a client whose sandbox net holds each listener", async () => {
  const { config, token } = await loadClientFlagsConfig({
    forward: ["web=127.0.0.1:18080", "dns=127.0.0.1:15353/udp"],
    socks: "127.0.0.1:11080",
    relay: "relay.example.com:4433",
  }, ENV);
  assert.equal(token, "a.b.c");
  assert.deepEqual(config.relays, [{ address: "relay.example.com:4433" }]);
  const net = roleNetPermissions({ role: "client", config: { ...config, direct: false } });
  assert.ok(Array.isArray(net));
  for (const entry of ["relay.example.com:4433", "127.0.0.1:18080", "127.0.0.1:15353"]) {
    assert.ok(net.includes(entry), entry);
  }
  assert.ok(net.includes("127.0.0.1:11080"));
});

Deno.test("a non-loopback --socks is refused with the flag named", async () => {
  await assert.rejects(
    loadClientFlagsConfig({ forward: [], socks: "0.0.0.0:1080", relay: "r.example:4433" }, ENV),
    (e) => e instanceof ConfigError && e.keyPath === "--socks",
  );
});
