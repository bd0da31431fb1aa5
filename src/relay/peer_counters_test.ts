import assert from "node:assert/strict";
import { PeerCounters } from "./peer_counters.ts";

Deno.test("PeerCounters counts bytes each way", () => {
  const c = new PeerCounters();
  c.fromPeer(10);
  c.fromPeer(5);
  c.toPeer(7);
  assert.equal(c.bytesFromPeer, 15);
  assert.equal(c.bytesToPeer, 7);
});

Deno.test("PeerCounters: a pending open ends once, however often its end is called", () => {
  const c = new PeerCounters();
  const first = c.beginOpen();
  const second = c.beginOpen();
  assert.equal(c.pendingOpens, 2);
  first();
  first();
  assert.equal(c.pendingOpens, 1);
  second();
  assert.equal(c.pendingOpens, 0);
});
