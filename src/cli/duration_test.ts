/**
 * Tests of command-line durations (--ttl).
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatSeconds, MAX_DURATION_SECONDS, parseDuration } from "./duration.ts";

Deno.test("parseDuration() reads each unit", () => {
  assert.deepEqual(parseDuration("45s"), { ok: true, seconds: 45 });
  assert.deepEqual(parseDuration("15m"), { ok: true, seconds: 900 });
  assert.deepEqual(parseDuration("12h"), { ok: true, seconds: 43_200 });
  assert.deepEqual(parseDuration("30d"), { ok: true, seconds: 2_592_000 });
  assert.deepEqual(parseDuration(" 7d "), { ok: true, seconds: 604_800 });
  assert.deepEqual(parseDuration("3650d"), { ok: true, seconds: MAX_DURATION_SECONDS });
});

Deno.test("parseDuration() refuses zero, negative, too long and malformed durations", async (t) => {
  for (
    const text of [
      "0s",
      "0d",
      "-5d",
      "-1s",
      "3651d",
      "87601h",
      "315360001s",
      "999999999999d",
      "1000000000000d",
    ]
  ) {
    await t.step(`refused: "${text}"`, () => assert.equal(parseDuration(text).ok, false));
  }
  for (
    const text of ["", "30", "d", "1.5h", "1h30m", "30D", "30 d", "+3d", "1e3s", "１d", "30days"]
  ) {
    await t.step(`malformed: "${text}"`, () => {
      const result = parseDuration(text);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.reason, /unit/);
    });
  }
});

Deno.test("parseDuration() honours a custom maximum", () => {
  assert.equal(parseDuration("2h", 3_600).ok, false);
  assert.equal(parseDuration("1h", 3_600).ok, true);
  const result = parseDuration("61m", 3_600);
  assert.ok(!result.ok);
  assert.match(result.reason, /at most 1h/);
});

Deno.test("parseDuration() answers every string without throwing", () => {
  fc.assert(fc.property(fc.string(), (text) => {
    const result = parseDuration(text);
    if (result.ok) assert.ok(result.seconds >= 1 && result.seconds <= MAX_DURATION_SECONDS);
  }));
});

Deno.test("formatSeconds() round-trips through parseDuration()", () => {
  assert.equal(formatSeconds(2_592_000), "30d");
  assert.equal(formatSeconds(5_400), "90m");
  assert.equal(formatSeconds(61), "61s");
  fc.assert(fc.property(fc.integer({ min: 1, max: MAX_DURATION_SECONDS }), (seconds) => {
    assert.deepEqual(parseDuration(formatSeconds(seconds)), { ok: true, seconds });
  }));
});
