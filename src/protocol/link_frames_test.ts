import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeClose,
  decodeKey,
  decodeLinkFrame,
  decodePreamble,
  decodeWant,
  encodeClose,
  encodeKey,
  encodeLinkFrame,
  encodePreamble,
  encodeWant,
  LINK_KEY_BYTES,
  MAX_CLOSE_REASON,
  MAX_LINK_FRAME,
} from "./link_frames.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);

Deno.test("encodePreamble() golden bytes", () => {
  assert.equal(hex(encodePreamble({ kind: "main" })), "5a5443500101");
  assert.equal(
    hex(encodePreamble({ kind: "offer", key: KEY })),
    "5a5443500103000102030405060708090a0b0c0d0e0f",
  );
  assert.throws(() => encodePreamble({ kind: "stream", key: new Uint8Array(3) }), RangeError);
});

Deno.test("decodePreamble() round trips in every chunk split", () => {
  for (const p of [{ kind: "main" as const }, { kind: "stream" as const, key: KEY }]) {
    const bytes = encodePreamble(p);
    for (let cut = 0; cut < bytes.byteLength; cut++) {
      const d = decodePreamble(bytes.subarray(0, cut));
      assert.equal(d.kind, "incomplete", `cut at ${cut}`);
    }
    const d = decodePreamble(bytes);
    assert.equal(d.kind, "preamble");
    if (d.kind === "preamble") {
      assert.deepEqual(d.preamble, p);
      assert.equal(d.used, bytes.byteLength);
    }
  }
});

Deno.test("decodePreamble() refuses garbage at its first wrong byte", () => {
  assert.equal(decodePreamble(new TextEncoder().encode("G")).kind, "error");
  assert.equal(decodePreamble(new TextEncoder().encode("GET / HTTP/1.1\r\n")).kind, "error");
  assert.equal(decodePreamble(Uint8Array.of(0x5a, 0x54, 0x43, 0x50, 9, 1)).kind, "error");
  assert.equal(decodePreamble(Uint8Array.of(0x5a, 0x54, 0x43, 0x50, 1, 7)).kind, "error");
});

Deno.test("encodeLinkFrame() golden bytes and round trip", () => {
  assert.equal(hex(encodeLinkFrame("control", Uint8Array.of(1, 2))), "010000020102");
  assert.equal(hex(encodeLinkFrame("want", encodeWant(3))), "080000020003");
  assert.equal(hex(encodeLinkFrame("close", encodeClose(0x105, "x"))), "040000050000010578");
  const d = decodeLinkFrame(encodeLinkFrame("key", encodeKey(KEY, 127)));
  assert.equal(d.kind, "frame");
  if (d.kind === "frame") {
    assert.equal(d.type, "key");
    assert.deepEqual(decodeKey(d.payload), { key: KEY, streamCredit: 127 });
  }
  assert.equal(decodeWant(encodeWant(70_000)), 0xffff);
  assert.deepEqual(decodeClose(encodeClose(0x104, "token_expired")), {
    closeCode: 0x104,
    reason: "token_expired",
  });
  assert.equal(
    decodeClose(encodeClose(1, "é".repeat(400))).reason.length <= MAX_CLOSE_REASON,
    true,
  );
});

Deno.test("decodeLinkFrame() rejects a length over the maximum before the payload arrives", () => {
  const header = Uint8Array.of(0x03, 0xff, 0xff, 0xff);
  const d = decodeLinkFrame(header);
  assert.equal(d.kind, "error");
  if (d.kind === "error") assert.equal(d.code, "frame_too_large");
  assert.throws(() => encodeLinkFrame("datagram", new Uint8Array(MAX_LINK_FRAME + 1)), RangeError);
});

Deno.test("decodeLinkFrame() rejects unknown types and wrong fixed sizes", () => {
  assert.equal(decodeLinkFrame(Uint8Array.of(0x7f, 0, 0, 0)).kind, "error");
  assert.equal(decodeLinkFrame(Uint8Array.of(0x07, 0, 0, 3, 1, 2, 3)).kind, "error");
  assert.equal(decodeLinkFrame(Uint8Array.of(0x02, 0, 0, 1, 0)).kind, "error");
  assert.equal(decodeLinkFrame(Uint8Array.of(0x05, 0, 0, 9)).kind, "error");
  assert.equal(decodeLinkFrame(Uint8Array.of(0x09, 0, 0, 1, 0)).kind, "error");
  assert.equal(decodeLinkFrame(Uint8Array.of(0x09, 0, 0, 0)).kind, "frame");
  assert.equal(decodeLinkFrame(new Uint8Array(0)).kind, "incomplete");
  assert.equal(decodeLinkFrame(Uint8Array.of(0x01, 0, 0)).kind, "incomplete");
  assert.equal(decodeLinkFrame(Uint8Array.of(0x01, 0, 0, 2, 9)).kind, "incomplete");
});

Deno.test("link codecs never throw on arbitrary, truncated or bit-flipped input", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      decodePreamble(bytes);
      const d = decodeLinkFrame(bytes);
      if (d.kind === "frame") {
        assert.ok(d.used <= bytes.byteLength);
        if (d.type === "close") decodeClose(d.payload);
        if (d.type === "key") assert.equal(decodeKey(d.payload).key.byteLength, LINK_KEY_BYTES);
        if (d.type === "want") decodeWant(d.payload);
      }
    }),
  );
  const good = encodeLinkFrame("datagram", Uint8Array.of(1, 2, 3, 4));
  fc.assert(
    fc.property(fc.nat(good.byteLength * 8 - 1), (bit) => {
      const flipped = good.slice();
      flipped[bit >> 3] ^= 1 << (bit & 7);
      decodeLinkFrame(flipped);
      decodePreamble(flipped);
    }),
  );
});
