/**
 * FleetMembership on the memory store: the first heartbeat announces the live relays; a relay
 * draining, gone stale or removed leaves the announced list; a failing store keeps the last view.
 * @module
 */
import assert from "node:assert/strict";
import { MemoryStore } from "../store/mod.ts";
import { FleetMembership } from "./fleet_membership.ts";
import type { FleetRelay } from "../protocol/mod.ts";

const config = { advertise: [{ address: "192.0.2.1:443" }], heartbeat_ms: 50, expiry_ms: 1_000 };

Deno.test("FleetMembership announces live relays and drops draining and stale ones", async () => {
  const store = new MemoryStore();
  const heard: FleetRelay[][] = [];
  const fleet = new FleetMembership({
    config,
    store,
    load: () => ({ peers: 2, flows: 1 }),
    onChange: (r) => heard.push(r),
    relayId: "self",
  });
  const other = (state: "up" | "draining") =>
    store.heartbeatRelay({
      relayId: "other",
      addresses: [{ address: "192.0.2.2:443", server_name: "relay.example.com" }],
      state,
      startedAt: 0,
      peers: 0,
      flows: 0,
    });
  await other("up");
  await fleet.start();
  try {
    assert.deepEqual(heard.at(-1), [
      { address: "192.0.2.1:443" },
      { address: "192.0.2.2:443", server_name: "relay.example.com" },
    ]);
    const self = fleet.members().find((m) => m.self);
    assert.equal(self?.peers, 2);
    assert.equal(self?.health, "up");
    await other("draining");
    await fleet.drain(); // a tick: reads the fleet again
    assert.deepEqual(heard.at(-1), []);
    assert.deepEqual(fleet.members().map((m) => [m.relayId, m.health]), [
      ["other", "draining"],
      ["self", "draining"],
    ]);
  } finally {
    await fleet.stop();
  }
  assert.deepEqual((await store.listRelays()).relays.map((r) => r.relayId), ["other"]);
});

Deno.test("FleetMembership keeps its last view while the store fails", async () => {
  const store = new MemoryStore();
  let broken = false;
  const failing = {
    heartbeatRelay: (h: Parameters<MemoryStore["heartbeatRelay"]>[0]) =>
      broken ? Promise.reject(new Error("down")) : store.heartbeatRelay(h),
    listRelays: () => store.listRelays(),
    removeRelay: (id: string) => store.removeRelay(id),
    pruneRelays: (t: number) => store.pruneRelays(t),
  };
  const heard: FleetRelay[][] = [];
  const fleet = new FleetMembership({
    config,
    store: failing,
    load: () => ({ peers: 0, flows: 0 }),
    onChange: (r) => heard.push(r),
  });
  await fleet.start();
  broken = true;
  await fleet.drain();
  assert.equal(heard.length, 1);
  assert.equal(fleet.members().length, 1);
  await fleet.stop();
});
