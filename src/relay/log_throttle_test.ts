import assert from "node:assert/strict";
import fc from "fast-check";
import { LogThrottle } from "./log_throttle.ts";

Deno.test("LogThrottle writes the first event at once, then one line per interval with the count", () => {
  const t = new LogThrottle({ intervalMs: 1_000 });
  assert.equal(t.hit("a", 0), 1);
  assert.equal(t.hit("a", 10), 0);
  assert.equal(t.hit("a", 999), 0);
  assert.equal(t.hit("b", 999), 1, "keys are independent");
  assert.equal(t.hit("a", 1_000), 3, "the line stands for the two held back and this one");
  assert.equal(t.hit("a", 1_500), 0);
});

Deno.test("LogThrottle never holds more than maxKeys keys", () => {
  const t = new LogThrottle({ maxKeys: 10 });
  for (let i = 0; i < 1_000; i++) t.hit(`k${i}`, i);
  assert.equal(t.size, 10);
});

Deno.test("LogThrottle: the lines of a key account for every event but those still held", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }), (gaps) => {
      const t = new LogThrottle({ intervalMs: 100 });
      let now = 0;
      let reported = 0;
      let lines = 0;
      for (const gap of gaps) {
        now += gap;
        const n = t.hit("k", now);
        reported += n;
        if (n > 0) lines++;
      }
      const held = gaps.length - reported;
      assert.ok(held >= 0);
      assert.ok(lines <= 1 + Math.floor(now / 100), `${lines} lines in ${now} ms`);
      // What is held back is reported by the key's next line: one more event releases it all.
      now += 100;
      assert.equal(t.hit("k", now), held + 1);
    }),
  );
});

Deno.test("LogThrottle refuses a negative interval", () => {
  assert.throws(() => new LogThrottle({ intervalMs: -1 }), RangeError);
});
