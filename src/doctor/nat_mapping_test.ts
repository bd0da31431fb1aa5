/**
 * Unit tests of the NAT mapping classification from relay observations.
 * @module
 */
import assert from "node:assert/strict";
import { natMapping } from "./nat_mapping.ts";

const seen = (relay: string, hostname: string, port: number) => ({
  relay,
  observed: { hostname, port },
});

Deno.test("natMapping() is unknown without observations or with one destination", () => {
  assert.equal(natMapping([], 5000, []).mapping, "unknown");
  const one = natMapping([seen("198.18.0.1:443", "198.18.0.2", 6000)], 5000, ["198.19.1.2"]);
  assert.equal(one.mapping, "unknown");
  assert.match(one.why, /needs two/);
});

Deno.test("natMapping() sees no NAT when the relays see our own address and port", () => {
  const r = natMapping([seen("127.0.0.1:443", "127.0.0.1", 5000)], 5000, ["127.0.0.1"]);
  assert.equal(r.mapping, "none");
});

Deno.test("natMapping() tells endpoint-independent from endpoint-dependent mapping", () => {
  const local = ["198.19.1.2"];
  const same = natMapping(
    [
      seen("198.18.0.1:443", "198.18.0.2", 6000),
      seen("198.18.0.9:443", "198.18.0.2", 6000),
    ],
    5000,
    local,
  );
  assert.equal(same.mapping, "endpoint-independent");
  const differs = natMapping(
    [
      seen("198.18.0.1:443", "198.18.0.2", 6000),
      seen("198.18.0.9:443", "198.18.0.2", 41234),
    ],
    5000,
    local,
  );
  assert.equal(differs.mapping, "endpoint-dependent");
  assert.equal(differs.observations.length, 2);
});
