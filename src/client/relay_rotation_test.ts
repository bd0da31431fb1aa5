/**
 * RelayRotation: learnt relays after configured ones, only within learn_relays, drained and dead
 * relays skipped, and an attempt that ends at once on DRAIN while its session runs on.
 * @module
 */
import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { learnPatterns } from "../config/net_pattern.ts";
import type { SessionEnd } from "../transport/mod.ts";
import { RelayRotation } from "./relay_rotation.ts";

const log = getLogger(["ztna", "test"]);

function rotation() {
  return new RelayRotation([{ address: "192.0.2.1:443", server_name: "relay.example.com" }], {
    patterns: learnPatterns(["192.0.2.0/24:443"]),
    log,
  });
}

Deno.test("RelayRotation learns only relays inside learn_relays, after the configured ones", () => {
  const r = rotation();
  const drained = () => assert.fail("no drain");
  assert.equal(
    r.onControl({
      type: "fleet",
      relays: [
        { address: "192.0.2.1:443" },
        { address: "192.0.2.2:443", server_name: "relay.example.com" },
        { address: "192.0.2.3:8443" },
        { address: "198.51.100.1:443" },
      ],
    }, drained),
    true,
  );
  assert.deepEqual(r.list(), [
    { address: "192.0.2.1:443", server_name: "relay.example.com" },
    { address: "192.0.2.2:443", server_name: "relay.example.com" },
  ]);
  assert.equal(r.onControl({ type: "ack", service: "web" }, drained), false);
});

Deno.test("RelayRotation skips relays the fleet no longer lists", () => {
  const r = rotation();
  const fleet = (...hosts: number[]) =>
    r.onControl({
      type: "fleet",
      relays: hosts.map((h) => ({ address: `192.0.2.${h}:443` })),
    }, () => {});
  fleet(1, 2, 3);
  r.advance();
  assert.equal(r.current.address, "192.0.2.2:443");
  // The configured relay drained: from 3 the next is 2, not 1.
  fleet(2, 3);
  r.advance();
  assert.equal(r.current.address, "192.0.2.3:443");
  r.advance();
  assert.equal(r.current.address, "192.0.2.2:443");
});

Deno.test("RelayRotation ends an attempt on DRAIN and keeps its session running", async () => {
  const r = rotation();
  r.onControl({
    type: "fleet",
    relays: [{ address: "192.0.2.1:443" }, { address: "192.0.2.2:443" }],
  }, () => {});
  const session = Promise.withResolvers<SessionEnd>();
  let drain: (() => void) | undefined;
  const attempt = r.attempt((drained) => {
    drain = () => r.onControl({ type: "drain" }, drained);
    return session.promise;
  });
  drain!();
  assert.deepEqual(await attempt, { authenticated: true, code: "going_away" });
  assert.equal(r.current.address, "192.0.2.2:443");
  assert.equal(r.lingering.size, 1);
  session.resolve({ authenticated: true, code: "going_away" });
  await Promise.all(r.lingering);
  await new Promise((res) => setTimeout(res, 0));
  assert.equal(r.lingering.size, 0);
});

Deno.test("RelayRotation keeps its only relay's session on DRAIN (nowhere to go)", () => {
  const r = rotation();
  let drained = false;
  assert.equal(r.onControl({ type: "drain" }, () => drained = true), true);
  assert.equal(drained, false);
});
