/**
 * Tests of the UDP probe datagrams and the sink's counter.
 * @module
 */
import assert from "node:assert/strict";
import {
  decodeProbe,
  encodeAnswer,
  encodeProbe,
  encodeQuery,
  ProbeCounter,
  QUERY_MARK,
} from "./udp_probe.ts";

Deno.test("encodeProbe() writes run and sequence big-endian, then filler", () => {
  const p = encodeProbe(7, 258, 12);
  assert.deepEqual(p, Uint8Array.of(0, 0, 0, 7, 0, 0, 1, 2, 0, 0, 0, 0));
  assert.deepEqual(decodeProbe(p), { kind: "probe", run: 7, seq: 258 });
  assert.throws(() => encodeProbe(1, 0, 7), RangeError);
  assert.throws(() => encodeProbe(QUERY_MARK, 0, 8), RangeError);
});

Deno.test("decodeProbe() round-trips queries and answers and rejects short input", () => {
  assert.deepEqual(decodeProbe(encodeQuery(9)), { kind: "query", run: 9 });
  assert.deepEqual(decodeProbe(encodeAnswer(9, 1_000, 2_500.4)), {
    kind: "answer",
    run: 9,
    count: 1_000,
    spanUs: 2_500,
  });
  assert.deepEqual(decodeProbe(new Uint8Array(7)), { kind: "malformed" });
  assert.deepEqual(decodeProbe(new Uint8Array([...encodeQuery(9), 0])), { kind: "malformed" });
});

Deno.test("ProbeCounter answers the count and span of one run and ignores others", () => {
  const c = new ProbeCounter();
  assert.equal(c.receive(encodeProbe(1, 0, 100), 10.0), undefined);
  c.receive(encodeProbe(1, 1, 100), 10.5);
  c.receive(encodeProbe(2, 0, 100), 11.0);
  c.receive(encodeProbe(1, 2, 100), 12.0);
  const answer = c.receive(encodeQuery(1), 13.0);
  assert.ok(answer);
  assert.deepEqual(decodeProbe(answer), { kind: "answer", run: 1, count: 3, spanUs: 2_000 });
  const none = c.receive(encodeQuery(3), 13.0);
  assert.ok(none);
  assert.deepEqual(decodeProbe(none), { kind: "answer", run: 3, count: 0, spanUs: 0 });
});
