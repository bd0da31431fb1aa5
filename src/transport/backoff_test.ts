import assert from "node:assert/strict";
import fc from "fast-check";
import { backoffDelay } from "./backoff.ts";

const HIGH = () => 1;
const LOW = () => 0;

Deno.test("backoffDelay() doubles from minMs up to maxMs", () => {
  const opts = { minMs: 100, maxMs: 1_000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, { ...opts, random: HIGH })),
    [100, 200, 400, 800, 1_000, 1_000],
  );
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, { ...opts, random: LOW })),
    [50, 100, 200, 400, 500, 500],
  );
});

Deno.test("backoffDelay() uses 500 ms to 30 s by default", () => {
  assert.equal(backoffDelay(1, { random: HIGH }), 500);
  assert.equal(backoffDelay(1, { random: LOW }), 250);
  assert.equal(backoffDelay(7, { random: HIGH }), 30_000);
  assert.equal(backoffDelay(1_000, { random: HIGH }), 30_000);
  assert.equal(backoffDelay(1_000, { random: LOW }), 15_000);
});

Deno.test("backoffDelay() treats zero or negative failures as the first", () => {
  for (const n of [0, -1, -1_000]) assert.equal(backoffDelay(n, { minMs: 100, random: HIGH }), 100);
});

Deno.test("backoffDelay() stays within half and all of the exponential delay", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -5, max: 200 }),
      fc.integer({ min: 1, max: 10_000 }),
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (failures, minMs, extra, r) => {
        const maxMs = minMs + extra;
        const exp = Math.min(maxMs, minMs * 2 ** Math.max(0, failures - 1));
        const d = backoffDelay(failures, { minMs, maxMs, random: () => r });
        assert.ok(Number.isInteger(d), `${d} is whole milliseconds`);
        assert.ok(d >= Math.floor(exp / 2) && d <= exp, `${d} within [${exp / 2}, ${exp}]`);
        assert.ok(d <= maxMs);
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("backoffDelay() never shrinks as failures grow", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 100 }),
      fc.integer({ min: 1, max: 5_000 }),
      (failures, minMs) => {
        const opts = { minMs, maxMs: minMs * 64, random: HIGH };
        assert.ok(backoffDelay(failures + 1, opts) >= backoffDelay(failures, opts));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("backoffDelay() throws RangeError on bad options", () => {
  const bad = [
    { minMs: 0 },
    { minMs: -1 },
    { minMs: NaN },
    { maxMs: 0 },
    { maxMs: NaN },
    { minMs: 1_000, maxMs: 999 },
  ];
  for (const opts of bad) {
    assert.throws(() => backoffDelay(1, opts), RangeError, JSON.stringify(opts));
  }
  assert.equal(
    backoffDelay(3, { minMs: 10, maxMs: 10, random: HIGH }),
    10,
    "minMs equal to maxMs is fine",
  );
});
