import assert from "node:assert/strict";
import fc from "fast-check";
import { DATAGRAM_HEADER, decodeDatagram, encodeDatagram, maxPayload } from "./datagram.ts";

Deno.test("encodeDatagram() writes a big-endian flow id before the payload", () => {
  assert.deepEqual(
    encodeDatagram(0x01020304, Uint8Array.of(9, 8)),
    Uint8Array.of(1, 2, 3, 4, 9, 8),
  );
});

Deno.test("decodeDatagram() round trips, including an empty payload", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.uint8Array({ maxLength: 1500 }),
      (id, p) => {
        const d = decodeDatagram(encodeDatagram(id, p));
        assert.ok(d);
        assert.equal(d.flowId, id);
        assert.deepEqual(d.payload, p);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("decodeDatagram() rejects datagrams too short for a flow id", () => {
  for (let n = 0; n < DATAGRAM_HEADER; n++) assert.equal(decodeDatagram(new Uint8Array(n)), null);
});

Deno.test("maxPayload() leaves room for the flow id and never goes negative", () => {
  assert.equal(maxPayload(1162), 1158);
  assert.equal(maxPayload(2), 0);
});
