import assert from "node:assert/strict";
import fc from "fast-check";
import { KeyedRateLimiter } from "./token_bucket.ts";

Deno.test("KeyedRateLimiter allows a burst, then refills at the configured rate", () => {
  const l = new KeyedRateLimiter({ perSecond: 10, burst: 3 });
  assert.deepEqual([1, 2, 3, 4].map(() => l.take("a", 0)), [true, true, true, false]);
  assert.equal(l.take("a", 50), false, "half a token after 50 ms");
  assert.equal(l.take("a", 100), true, "one token after 100 ms");
  assert.equal(l.take("b", 100), true, "keys are independent");
});

Deno.test("KeyedRateLimiter never holds more than maxKeys keys", () => {
  const l = new KeyedRateLimiter({ perSecond: 1, maxKeys: 100 });
  for (let i = 0; i < 10_000; i++) l.take(`k${i}`, i);
  assert.equal(l.size, 100);
});

Deno.test("KeyedRateLimiter admits at most burst + rate × time events", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 100 }),
      fc.integer({ min: 1, max: 50 }),
      fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 300 }),
      (perSecond, burst, gaps) => {
        const l = new KeyedRateLimiter({ perSecond, burst });
        let now = 0;
        let admitted = 0;
        for (const g of gaps) {
          now += g;
          if (l.take("k", now)) admitted++;
        }
        assert.ok(admitted <= burst + Math.floor((now * perSecond) / 1000) + 1);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("KeyedRateLimiter rejects nonsensical options with a RangeError", () => {
  assert.throws(() => new KeyedRateLimiter({ perSecond: 0 }), RangeError);
  assert.throws(() => new KeyedRateLimiter({ perSecond: 1, burst: 0 }), RangeError);
});
