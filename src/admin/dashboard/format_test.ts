/**
 * The dashboard's display formats, run in Deno: the same file the browser loads.
 * @module
 */
import assert from "node:assert/strict";
import { ago, bytes, clock, ttlSeconds } from "./format.js";

Deno.test("bytes() counts in binary units with one decimal above bytes", () => {
  assert.equal(bytes(0), "0 B");
  assert.equal(bytes(1023), "1023 B");
  assert.equal(bytes(1024), "1.0 KiB");
  assert.equal(bytes(1536), "1.5 KiB");
  assert.equal(bytes(3 * 1024 ** 2), "3.0 MiB");
  assert.equal(bytes(5 * 1024 ** 5), "5120.0 TiB");
});

Deno.test("clock() gives the local date, time and UTC offset of the same instant", () => {
  for (const ms of [0, Date.UTC(2025, 2, 9, 14, 5, 7), Date.UTC(2024, 11, 31, 23, 59, 59)]) {
    const text = clock(ms);
    const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC([+-]\d\d:\d\d)$/.exec(text);
    assert.ok(m, text);
    // Read back as ISO 8601 with the printed offset: the same instant, whatever the local zone.
    assert.equal(Date.parse(`${m[1]}T${m[2]}${m[3]}`), ms, text);
  }
});

Deno.test("ago() says how long before now, in the largest whole unit", () => {
  const now = 1_000_000_000;
  assert.equal(ago(now, now), "0 s ago");
  assert.equal(ago(now + 5_000, now), "0 s ago", "a clock ahead of the browser's is not negative");
  assert.equal(ago(now - 59_000, now), "59 s ago");
  assert.equal(ago(now - 60_000, now), "1 min ago");
  assert.equal(ago(now - 2 * 3_600_000, now), "2 h ago");
  assert.equal(ago(now - 3 * 86_400_000, now), "3 d ago");
});

Deno.test("ttlSeconds() reads a number and a unit, NaN for anything else", () => {
  assert.equal(ttlSeconds("90s"), 90);
  assert.equal(ttlSeconds(" 30m "), 1_800);
  assert.equal(ttlSeconds("12h"), 43_200);
  assert.equal(ttlSeconds("7d"), 604_800);
  for (const bad of ["", "7", "d", "1.5h", "7w", "-1d", "7 d"]) {
    assert.ok(Number.isNaN(ttlSeconds(bad)), bad);
  }
});
