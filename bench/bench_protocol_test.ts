/**
 * Tests of the bench preamble.
 * @module
 */
import assert from "node:assert/strict";
import { decodePreamble, encodePreamble, PREAMBLE_BYTES } from "./bench_protocol.ts";

Deno.test("encodePreamble() writes the mode byte and a big-endian u64 count", () => {
  assert.deepEqual(encodePreamble("upload", 258), Uint8Array.of(0x55, 0, 0, 0, 0, 0, 0, 1, 2));
  assert.equal(encodePreamble("echo", 0)[0], 0x45);
  assert.throws(() => encodePreamble("download", -1), RangeError);
});

Deno.test("decodePreamble() round-trips, waits for 9 bytes and rejects unknown modes", () => {
  const bytes = encodePreamble("download", 256 * 1024 * 1024);
  assert.deepEqual(decodePreamble(bytes), {
    kind: "preamble",
    mode: "download",
    count: 268_435_456,
  });
  assert.deepEqual(decodePreamble(bytes.subarray(0, PREAMBLE_BYTES - 1)), { kind: "incomplete" });
  assert.equal(decodePreamble(Uint8Array.of(0x58, 0, 0, 0, 0, 0, 0, 0, 0)).kind, "error");
  assert.equal(decodePreamble(Uint8Array.of(0x55, 0xff, 0, 0, 0, 0, 0, 0, 0)).kind, "error");
});
