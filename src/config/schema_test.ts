/**
 * Tests of the cross-key rules in the schema (the per-key rules are exercised through issues_test).
 * @module
 */
import assert from "node:assert/strict";
import { ClientSection, ConnectorSection } from "./schema.ts";

const RELAYS = [{ address: "relay.example.com:4433" }];

Deno.test("ConnectorSection rejects two services with the same id", () => {
  const result = ConnectorSection.safeParse({
    relays: RELAYS,
    service: [{ id: "web", backend: "192.0.2.1:80" }, { id: "web", backend: "192.0.2.2:80" }],
  });
  assert.ok(!result.success);
  assert.deepEqual(result.error.issues.map((i) => i.path), [["service", 1, "id"]]);
});

Deno.test("ClientSection rejects reconnect_min_ms above reconnect_max_ms", () => {
  const result = ClientSection.safeParse({
    relays: RELAYS,
    forward: [{ listen: "127.0.0.1:8080", service: "web" }],
    reconnect_min_ms: 60_000,
    reconnect_max_ms: 1_000,
  });
  assert.ok(!result.success);
  assert.deepEqual(result.error.issues.map((i) => i.path), [["reconnect_min_ms"]]);
});
