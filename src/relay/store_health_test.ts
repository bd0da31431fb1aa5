/**
 * StoreHealth: fresh while round trips succeed, stale (fail closed) once the last success is
 * older than max_staleness_ms, fresh again at the next success.
 * @module
 */
import assert from "node:assert/strict";
import { StoreHealth } from "./store_health.ts";

Deno.test("StoreHealth fails closed past the staleness bound and opens at the next success", () => {
  let now = 1_000;
  const changes: Array<[boolean, number]> = [];
  const health = new StoreHealth({
    maxStalenessMs: 5_000,
    clock: () => now,
    onChange: (stale, age) => changes.push([stale, age]),
  });
  now += 3_000;
  health.report(false);
  assert.equal(health.stale, false);
  assert.equal(health.reachable, false);
  now += 2_001;
  health.check();
  assert.equal(health.stale, true);
  health.check();
  assert.deepEqual(changes, [[true, 5_001]]);
  health.report(true);
  assert.equal(health.stale, false);
  assert.equal(health.ageMs, 0);
  assert.deepEqual(changes, [[true, 5_001], [false, 0]]);
});
