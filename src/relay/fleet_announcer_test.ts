/**
 * FleetAnnouncer: FLEET only to welcomed peers that speak version 5, once per list; DRAIN to them.
 * @module
 */
import assert from "node:assert/strict";
import type { ControlMessageInput } from "../protocol/mod.ts";
import { type AnnounceTarget, FleetAnnouncer } from "./fleet_announcer.ts";

function peer(version: number, welcomed = true) {
  const sent: ControlMessageInput[] = [];
  const target: AnnounceTarget & { sent: ControlMessageInput[] } = {
    welcomed,
    version,
    sent,
    send: (m) => {
      sent.push(m);
      return Promise.resolve();
    },
  };
  return target;
}

Deno.test("FleetAnnouncer tells each version-5 peer each list once, and DRAIN", () => {
  const peers = [peer(5), peer(4), peer(5, false)];
  const announcer = new FleetAnnouncer(() => peers);
  announcer.set([{ address: "192.0.2.1:443" }]);
  announcer.set([{ address: "192.0.2.1:443" }, { address: "192.0.2.2:443" }]);
  const late = peer(5);
  peers.push(late);
  announcer.start();
  announcer.set([{ address: "192.0.2.2:443" }]);
  assert.deepEqual(peers[0].sent.map((m) => m.type), ["fleet", "fleet", "fleet"]);
  assert.deepEqual(late.sent, [{ type: "fleet", relays: [{ address: "192.0.2.2:443" }] }]);
  assert.deepEqual(peers[1].sent, []);
  assert.deepEqual(peers[2].sent, []);
  assert.equal(announcer.drain(), 2);
  assert.deepEqual(late.sent.at(-1), { type: "drain" });
  assert.deepEqual(peers[1].sent, []);
});
