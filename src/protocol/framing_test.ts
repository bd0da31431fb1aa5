import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_CONTROL_MESSAGE } from "./constants.ts";
import { decodeFrame, encodeFrame } from "./framing.ts";

const enc = new TextEncoder();

Deno.test("encodeFrame() writes a big-endian u32 length before the body", () => {
  assert.deepEqual(encodeFrame(enc.encode("{}")), Uint8Array.of(0, 0, 0, 2, 0x7b, 0x7d));
  const big = encodeFrame(new Uint8Array(0x010203).fill(0xaa), 0x01_00_00_00);
  assert.deepEqual(big.subarray(0, 5), Uint8Array.of(0, 1, 2, 3, 0xaa));
  assert.equal(big.byteLength, 4 + 0x010203);
});

Deno.test("decodeFrame() reads a golden frame and reports the bytes used", () => {
  const d = decodeFrame(Uint8Array.of(0, 0, 0, 3, 0x61, 0x62, 0x63, 0xff));
  assert.equal(d.kind, "message");
  if (d.kind !== "message") return;
  assert.deepEqual(d.body, enc.encode("abc"));
  assert.equal(d.used, 7);
});

Deno.test("decodeFrame() reads a frame from a view with a byte offset", () => {
  const backing = Uint8Array.of(9, 9, 9, 0, 0, 0, 1, 0x41, 9);
  const d = decodeFrame(backing.subarray(3));
  assert.equal(d.kind, "message");
  if (d.kind !== "message") return;
  assert.deepEqual(d.body, Uint8Array.of(0x41));
  assert.equal(d.used, 5);
});

Deno.test("decodeFrame() round trips encodeFrame()", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 2_000 }),
      fc.uint8Array({ maxLength: 16 }),
      (body, tail) => {
        const frame = encodeFrame(body);
        const buf = new Uint8Array(frame.byteLength + tail.byteLength);
        buf.set(frame);
        buf.set(tail, frame.byteLength);
        const d = decodeFrame(buf);
        assert.equal(d.kind, "message");
        if (d.kind !== "message") return;
        assert.deepEqual(d.body, body);
        assert.equal(d.used, frame.byteLength);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("decodeFrame() round trips a body of exactly the maximum", () => {
  const body = new Uint8Array(MAX_CONTROL_MESSAGE).fill(7);
  const d = decodeFrame(encodeFrame(body));
  assert.equal(d.kind, "message");
  if (d.kind !== "message") return;
  assert.equal(d.body.byteLength, MAX_CONTROL_MESSAGE);
  assert.equal(d.used, 4 + MAX_CONTROL_MESSAGE);
});

Deno.test("decodeFrame() answers incomplete on every proper prefix", () => {
  const frame = encodeFrame(enc.encode('{"type":"ack","service":"db"}'));
  for (let n = 0; n < frame.byteLength; n++) {
    assert.deepEqual(decodeFrame(frame.subarray(0, n)), { kind: "incomplete" }, `prefix ${n}`);
  }
});

Deno.test("decodeFrame() rejects a length over 64 KiB", () => {
  const over = MAX_CONTROL_MESSAGE + 1;
  const header = Uint8Array.of(over >>> 24, (over >>> 16) & 0xff, (over >>> 8) & 0xff, over & 0xff);
  // Decided from the header alone: the body is never waited for.
  assert.deepEqual(decodeFrame(header), { kind: "error", code: "frame_too_large" });
  assert.deepEqual(decodeFrame(Uint8Array.of(0xff, 0xff, 0xff, 0xff)), {
    kind: "error",
    code: "frame_too_large",
  });
});

Deno.test("decodeFrame() honours a smaller max", () => {
  assert.deepEqual(decodeFrame(Uint8Array.of(0, 0, 0, 11), 10), {
    kind: "error",
    code: "frame_too_large",
  });
  assert.equal(decodeFrame(Uint8Array.of(0, 0, 0, 10), 10).kind, "incomplete");
});

Deno.test("decodeFrame() rejects a zero length as a protocol error", () => {
  assert.deepEqual(decodeFrame(Uint8Array.of(0, 0, 0, 0)), {
    kind: "error",
    code: "protocol_error",
  });
  assert.deepEqual(decodeFrame(Uint8Array.of(0, 0, 0, 0, 1, 2)), {
    kind: "error",
    code: "protocol_error",
  });
});

Deno.test("encodeFrame() throws RangeError for an empty or oversized body", () => {
  assert.throws(() => encodeFrame(new Uint8Array(0)), RangeError);
  assert.throws(() => encodeFrame(new Uint8Array(MAX_CONTROL_MESSAGE + 1)), RangeError);
  assert.throws(() => encodeFrame(new Uint8Array(11), 10), RangeError);
});

Deno.test("decodeFrame() answers every input without throwing", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 70_000 }), (bytes) => {
      assert.ok(["message", "incomplete", "error"].includes(decodeFrame(bytes).kind));
    }),
    { numRuns: 200 },
  );
});

Deno.test("decodeFrame() answers every truncated or bit-flipped frame without throwing", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 300 }),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 0, max: 7 }),
      (body, cut, at, bit) => {
        const frame = encodeFrame(body);
        const truncated = frame.subarray(0, cut % (frame.byteLength + 1));
        const flipped = frame.slice();
        flipped[at % flipped.byteLength] ^= 1 << bit;
        for (const buf of [truncated, flipped]) {
          const d = decodeFrame(buf);
          assert.ok(["message", "incomplete", "error"].includes(d.kind));
          if (d.kind === "message") assert.ok(d.used <= buf.byteLength);
        }
      },
    ),
    { numRuns: 300 },
  );
});
