/**
 * Unit tests of bench/quic_initial.ts against the RFC 9001 Appendix A client Initial, plus a round
 * trip through a real Deno client's first flight (loopback only, no root).
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  captureFirstFlight,
  clientInitialKeys,
  hex,
  MIN_INITIAL_DATAGRAM,
  openInitial,
  sealInitial,
  sha256,
} from "./quic_initial.ts";

/** RFC 9001 §A.1: the client's Destination Connection ID. */
const DCID = hex("8394c8f03e515708");
/** RFC 9001 §A.2: the CRYPTO frame of the client Initial (padded to 1,162 bytes). */
const CRYPTO_FRAME = hex(
  "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c0000041301" +
    "1302010000c000000010000e00000b6578616d706c652e636f6dff01000100000a00080006001d00170018001000" +
    "07000504616c706e000500050100000000003300260024001d00209370b2c9caa47fbabaf4559fedba753de171fa" +
    "71f50f1ce15d43e994ec74d748002b0003020304000d0010000e0403050306030203080408050806002d00020101" +
    "001c00024001003900320408ffffffffffffffff05048000ffff07048000ffff0801100104800075300901100f08" +
    "8394c8f03e51570806048000ffff",
);

const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("sha256 agrees with node:crypto across block boundaries", () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000]) {
    const data = crypto.getRandomValues(new Uint8Array(n));
    assert.equal(
      toHex(sha256(data)),
      createHash("sha256").update(data).digest("hex"),
      `${n} bytes`,
    );
  }
});

Deno.test("client Initial keys match RFC 9001 A.1", () => {
  const keys = clientInitialKeys(DCID);
  assert.equal(toHex(keys.key), "1f369613dd76d5467730efcbe3b1a22d");
  assert.equal(toHex(keys.iv), "fa044b2f42a3fd3b46fb255c");
  assert.equal(toHex(keys.hp), "9f50449e04a0e810283a1e9933adedd2");
});

Deno.test("sealing the A.2 payload gives the A.2 protected header and sample; opening undoes it", () => {
  const payload = new Uint8Array(1162);
  payload.set(CRYPTO_FRAME);
  const packet = sealInitial(DCID, new Uint8Array(0), 2, payload);
  assert.equal(packet.length, 1200);
  assert.equal(toHex(packet.subarray(0, 22)), "c000000001088394c8f03e5157080000449e7b9aec34");
  assert.equal(toHex(packet.subarray(22, 38)), "d1b1c98dd7689fb8ec11d242b123dc9b");
  const opened = openInitial(packet);
  assert.equal(opened.packetNumber, 2);
  assert.deepEqual(opened.dcid, DCID);
  assert.deepEqual(opened.payload, payload);
});

Deno.test("a tampered Initial does not open", () => {
  const packet = sealInitial(DCID, new Uint8Array(0), 2, new Uint8Array(1162));
  packet[100] ^= 1;
  assert.throws(() => openInitial(packet), RangeError);
});

Deno.test({
  name: "a Deno client's first flight opens and re-seals under a new DCID",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const flight = await captureFirstFlight("ztna-test", "localhost");
    assert.ok(flight.packets.length >= 1);
    const dcid = crypto.getRandomValues(new Uint8Array(8));
    const [first] = flight.packets;
    const packet = sealInitial(
      dcid,
      flight.scid,
      first.packetNumber,
      first.payload,
      MIN_INITIAL_DATAGRAM,
    );
    assert.equal(packet.length, MIN_INITIAL_DATAGRAM);
    const opened = openInitial(packet);
    assert.deepEqual(opened.dcid, dcid);
    assert.deepEqual(opened.payload.subarray(0, first.payload.length), first.payload);
    // A CRYPTO frame (type 0x06) carrying a ClientHello (handshake type 1) at offset 0.
    assert.equal(opened.payload[0], 0x06);
  },
});
