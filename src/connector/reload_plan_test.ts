import assert from "node:assert/strict";
import { ConnectorSection } from "../config/schema.ts";
import { changesServices, planReload } from "./reload_plan.ts";

const base = {
  relays: [{ address: "127.0.0.1:4433", server_name: "localhost" }],
  token_file: "t.jwt",
};

function config(services: Array<[string, string, string?]>, extra: Record<string, unknown> = {}) {
  return ConnectorSection.parse({
    ...base,
    ...extra,
    service: services.map(([id, backend, protocol]) => ({
      id,
      backend,
      protocol: protocol ?? "tcp",
    })),
  });
}

Deno.test("planReload sorts services into added, removed, re-pointed and unchanged", () => {
  const plan = planReload(
    config([["keep", "127.0.0.1:1"], ["gone", "127.0.0.1:2"], ["moved", "127.0.0.1:3"]]),
    config([["keep", "127.0.0.1:1"], ["moved", "127.0.0.1:4"], ["new", "127.0.0.1:5"]]),
  );
  assert.deepEqual(plan.added, ["new"]);
  assert.deepEqual(plan.removed, ["gone"]);
  assert.deepEqual(plan.repointed, ["moved"]);
  assert.deepEqual(plan.unchanged, ["keep"]);
  assert.deepEqual(plan.restartKeys, []);
  assert.deepEqual(plan.next.service.map((s) => s.id), ["keep", "moved", "new"]);
  assert.ok(changesServices(plan));
});

Deno.test("planReload counts a transport change as re-pointed and names keys that need a restart", () => {
  const plan = planReload(
    config([["dns", "127.0.0.1:53", "udp"]]),
    config([["dns", "127.0.0.1:53", "tcp"]], { connect_timeout_ms: 1_000 }),
  );
  assert.deepEqual(plan.repointed, ["dns"]);
  assert.deepEqual(plan.restartKeys, ["connector.connect_timeout_ms"]);
  assert.equal(plan.next.connect_timeout_ms, 5_000, "the running value stays until a restart");
});

Deno.test("planReload of the same services changes nothing", () => {
  const plan = planReload(config([["a", "127.0.0.1:1"]]), config([["a", "127.0.0.1:1"]]));
  assert.ok(!changesServices(plan));
});
