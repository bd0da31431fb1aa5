import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { IntermediateSection } from "../config/schema.ts";
import { ConnectionGate } from "./connection_gate.ts";
import { RefusalLog } from "./refusal_log.ts";
import { RefusalObserver } from "./refusal_observer.ts";
import { RelayMetrics } from "./relay_metrics.ts";

/** A gate over the given limits, with a clock and a draining switch the test moves. */
function gate(limits: Record<string, number>) {
  const config = IntermediateSection.parse({
    listen: "127.0.0.1:0",
    cert: "c.pem",
    key: "k.pem",
    token_public_keys: ["p.pem"],
    limits,
  });
  const state = { now: 1_000_000, draining: false, sessions: 0 };
  const metrics = new RelayMetrics();
  const log = getLogger(["ztna", "test"]);
  const observer = new RefusalObserver({
    metrics,
    refusals: new RefusalLog(),
    log,
    clock: () => state.now,
  });
  const g = new ConnectionGate({
    limits: config.limits,
    draining: () => state.draining,
    sessions: () => state.sessions,
    clock: () => state.now,
    observer,
    metrics,
    log,
  });
  return { g, state, metrics };
}

Deno.test("ConnectionGate refuses before the handshake when draining, full or over the global rate", () => {
  const { g, state, metrics } = gate({ max_connections: 2, handshakes_per_second: 3 });
  assert.equal(g.beforeHandshake(), true);
  state.draining = true;
  assert.equal(g.beforeHandshake(), false);
  state.draining = false;
  state.sessions = 2;
  assert.equal(g.beforeHandshake(), false);
  state.sessions = 0;
  // The draining and full refusals took no handshake token: two of three remain this second.
  assert.equal(g.beforeHandshake(), true);
  assert.equal(g.beforeHandshake(), true);
  assert.equal(g.beforeHandshake(), false);
  state.now += 1_000;
  assert.equal(g.beforeHandshake(), true);
  assert.equal(metrics.rateLimited.get("handshakes_total"), 1);
});

Deno.test("ConnectionGate limits handshakes per source after the handshake, per source", () => {
  const { g, metrics } = gate({
    handshakes_per_second_per_source: 1,
    handshake_burst_per_source: 2,
  });
  assert.equal(g.afterHandshake("198.18.0.1"), true);
  assert.equal(g.afterHandshake("198.18.0.1"), true);
  assert.equal(g.afterHandshake("198.18.0.1"), false);
  assert.equal(g.afterHandshake("198.18.0.2"), true);
  assert.equal(metrics.rateLimited.get("handshakes_per_source"), 1);
});

Deno.test("ConnectionGate holds per-identity slots until each session releases its own", () => {
  const { g } = gate({ max_connections_per_identity: 2 });
  const [a, b, c] = [{}, {}, {}];
  assert.equal(g.admitIdentity(a, "alice"), true);
  assert.equal(g.admitIdentity(b, "alice"), true);
  assert.equal(g.admitIdentity(c, "alice"), false);
  assert.equal(g.admitIdentity(c, "bob"), true);
  g.release({}); // a session that never held a slot gives nothing back
  assert.equal(g.admitIdentity({}, "alice"), false);
  g.release(a);
  g.release(a); // twice: only once counted
  assert.equal(g.admitIdentity(a, "alice"), true);
  assert.equal(g.admitIdentity({}, "alice"), false);
});
