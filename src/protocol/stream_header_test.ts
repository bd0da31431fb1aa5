import { concatBytes as concat } from "./bytes.ts";
import assert from "node:assert/strict";
import fc from "fast-check";
import { SERVICE_ID_PATTERN } from "./service_id.ts";
import { MAX_IDENTITY_BYTES } from "./constants.ts";
import { ERROR_CODES, ERRORS } from "./errors.ts";
import {
  decodeAcceptOrReply,
  decodeHeader,
  encodeHeader,
  type FlowHeader,
  HEADER_TYPE,
  type OpenHeader,
  type ReplyHeader,
  type StreamHeader,
  UDP_HEADER_TYPE,
} from "./stream_header.ts";

const KINDS = ["open", "flow", "reply"] as const;

const enc = new TextEncoder();

const GOLDEN: ReadonlyArray<[StreamHeader, Uint8Array]> = [
  [{ type: "open", service: "db" }, Uint8Array.of(0x10, 2, 0x64, 0x62)],
  [
    { type: "flow", flowId: 0x01020304, service: "db", identity: "al" },
    Uint8Array.of(0x11, 1, 2, 3, 4, 2, 0x64, 0x62, 2, 0x61, 0x6c),
  ],
  [
    { type: "flow", flowId: 0xffffffff, service: "a", identity: "" },
    Uint8Array.of(0x11, 0xff, 0xff, 0xff, 0xff, 1, 0x61, 0),
  ],
  [{ type: "reply", code: "ok", flowId: 7 }, Uint8Array.of(0x12, 0, 0, 0, 0, 0, 7)],
  [
    { type: "reply", code: "no_connector", flowId: 0x0a0b0c0d },
    Uint8Array.of(0x12, 0x03, 0x02, 0x0a, 0x0b, 0x0c, 0x0d),
  ],
];

const serviceArb = fc.stringMatching(SERVICE_ID_PATTERN);
const flowIdArb = fc.integer({ min: 0, max: 0xffff_ffff });
const identityArb = fc
  .string({ unit: "grapheme", maxLength: 40 })
  .filter((s) => enc.encode(s).byteLength <= MAX_IDENTITY_BYTES);
const plain = { noNullPrototype: true } as const;
const headerArb: fc.Arbitrary<StreamHeader> = fc.oneof(
  fc.record({ type: fc.constant("open" as const), service: serviceArb }, plain),
  fc.record(
    {
      type: fc.constant("flow" as const),
      flowId: flowIdArb,
      service: serviceArb,
      identity: identityArb,
    },
    plain,
  ),
  fc.record({
    type: fc.constant("reply" as const),
    code: fc.constantFrom("ok" as const, ...ERROR_CODES),
    flowId: flowIdArb,
  }, plain),
);

Deno.test("HEADER_TYPE keeps its pinned type bytes", () => {
  assert.deepEqual(HEADER_TYPE, { open: 0x10, flow: 0x11, reply: 0x12, accept: 0x15 });
});

Deno.test("encodeHeader() writes the golden bytes", () => {
  for (const [header, bytes] of GOLDEN) assert.deepEqual(encodeHeader(header), bytes, header.type);
});

Deno.test("decodeHeader() reads the golden bytes, ignoring what follows", () => {
  for (const [header, bytes] of GOLDEN) {
    assert.deepEqual(decodeHeader(bytes, header.type), {
      kind: "header",
      header,
      used: bytes.byteLength,
    });
    const more = concat(bytes, Uint8Array.of(0x00, 0x00, 0x01, 0x00, 0xff));
    assert.deepEqual(decodeHeader(more, header.type), {
      kind: "header",
      header,
      used: bytes.byteLength,
    });
  }
});

Deno.test("decodeHeader() reads a header from a view with a byte offset", () => {
  const [header, bytes] = GOLDEN[1];
  const backing = concat(Uint8Array.of(0xee, 0xee, 0xee), bytes);
  assert.deepEqual(decodeHeader(backing.subarray(3), "flow"), {
    kind: "header",
    header,
    used: bytes.byteLength,
  });
});

Deno.test("decodeHeader() round trips encodeHeader()", () => {
  fc.assert(
    fc.property(headerArb, fc.uint8Array({ maxLength: 8 }), (header, tail) => {
      const bytes = encodeHeader(header);
      assert.deepEqual(decodeHeader(concat(bytes, tail), header.type), {
        kind: "header",
        header,
        used: bytes.byteLength,
      });
    }),
    { numRuns: 300 },
  );
});

Deno.test("decodeHeader() answers incomplete on every proper prefix", () => {
  fc.assert(
    fc.property(headerArb, (header) => {
      const bytes = encodeHeader(header);
      for (let n = 0; n < bytes.byteLength; n++) {
        assert.deepEqual(
          decodeHeader(bytes.subarray(0, n), header.type),
          { kind: "incomplete" },
          `prefix ${n}`,
        );
      }
    }),
    { numRuns: 200 },
  );
});

Deno.test("decodeHeader() rejects a header of another type as a protocol error", () => {
  for (const [header, bytes] of GOLDEN) {
    for (const expect of KINDS) {
      if (expect === header.type) continue;
      const d = decodeHeader(bytes, expect);
      assert.equal(d.kind, "error");
      if (d.kind === "error") assert.equal(d.code, "protocol_error");
    }
  }
  for (const type of [0x00, 0x01, 0x02, 0x15, 0xff]) {
    for (const expect of KINDS) {
      const d = decodeHeader(Uint8Array.of(type), expect);
      assert.equal(d.kind === "error" && d.code, "protocol_error", `type ${type} as ${expect}`);
    }
  }
});

Deno.test("decodeHeader() rejects service id lengths 0 and 64 before the bytes arrive", () => {
  for (const len of [0, 64, 255]) {
    const open = decodeHeader(Uint8Array.of(0x10, len), "open");
    assert.equal(open.kind === "error" && open.code, "invalid_service_id", `open ${len}`);
    const flow = decodeHeader(Uint8Array.of(0x11, 0, 0, 0, 1, len), "flow");
    assert.equal(flow.kind === "error" && flow.code, "invalid_service_id", `flow ${len}`);
  }
  // 63 is the longest allowed.
  const longest = concat(Uint8Array.of(0x10, 63), enc.encode("a".repeat(63)));
  assert.equal(decodeHeader(longest, "open").kind, "header");
});

Deno.test("decodeHeader() rejects a service id that breaks the rules", () => {
  for (const bad of [[0xff], [0xc3, 0xa9], [0x44, 0x42], [0x2e, 0x61], [0x2a], [0x61, 0x00]]) {
    const service = Uint8Array.from(bad);
    const open = decodeHeader(concat(Uint8Array.of(0x10, service.byteLength), service), "open");
    assert.equal(open.kind === "error" && open.code, "invalid_service_id", `open ${bad}`);
    const flow = decodeHeader(
      concat(Uint8Array.of(0x11, 0, 0, 0, 1, service.byteLength), service, Uint8Array.of(0)),
      "flow",
    );
    assert.equal(flow.kind === "error" && flow.code, "invalid_service_id", `flow ${bad}`);
  }
});

Deno.test("decodeHeader() rejects an identity that is not UTF-8", () => {
  for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80]]) {
    const identity = Uint8Array.from(bad);
    const d = decodeHeader(
      concat(Uint8Array.of(0x11, 0, 0, 0, 1, 2, 0x64, 0x62, identity.byteLength), identity),
      "flow",
    );
    assert.equal(d.kind === "error" && d.code, "protocol_error", `identity ${bad}`);
  }
});

Deno.test("decodeHeader() rejects an identity over 128 bytes before the bytes arrive", () => {
  const d = decodeHeader(
    Uint8Array.of(0x11, 0, 0, 0, 1, 2, 0x64, 0x62, MAX_IDENTITY_BYTES + 1),
    "flow",
  );
  assert.equal(d.kind === "error" && d.code, "protocol_error");
  const longest = concat(
    Uint8Array.of(0x11, 0, 0, 0, 1, 2, 0x64, 0x62, MAX_IDENTITY_BYTES),
    enc.encode("x".repeat(MAX_IDENTITY_BYTES)),
  );
  assert.equal(decodeHeader(longest, "flow").kind, "header");
});

Deno.test("decodeHeader() maps a reply code from a newer peer to unknown", () => {
  assert.deepEqual(decodeHeader(Uint8Array.of(0x12, 0x09, 0x99, 0, 0, 0, 5), "reply"), {
    kind: "header",
    header: { type: "reply", code: "unknown", flowId: 5 } satisfies ReplyHeader,
    used: 7,
  });
});

Deno.test("encodeHeader() sends an unknown reply code as internal", () => {
  const bytes = encodeHeader({ type: "reply", code: "unknown", flowId: 1 });
  assert.deepEqual(
    bytes,
    Uint8Array.of(0x12, ERRORS.internal.wire >>> 8, ERRORS.internal.wire & 0xff, 0, 0, 0, 1),
  );
});

Deno.test("encodeHeader() throws RangeError for an invalid service id", () => {
  for (const service of ["", "DB", "a".repeat(64), "dbé", "*", ".db", "d b"]) {
    assert.throws(
      () => encodeHeader({ type: "open", service } satisfies OpenHeader),
      RangeError,
      service,
    );
    assert.throws(
      () => encodeHeader({ type: "flow", flowId: 1, service, identity: "a" } satisfies FlowHeader),
      RangeError,
      service,
    );
  }
});

Deno.test("encodeHeader() throws RangeError for an identity over 128 bytes", () => {
  assert.throws(
    () => encodeHeader({ type: "flow", flowId: 1, service: "db", identity: "é".repeat(65) }),
    RangeError,
  );
});

Deno.test("decodeHeader() answers arbitrary bytes without throwing", async (t) => {
  for (const expect of KINDS) {
    await t.step(expect, () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 600 }),
            // Mostly the right type byte, so the decoder gets past its first check.
            fc.uint8Array({ maxLength: 300 }).map((b) =>
              concat(Uint8Array.of(HEADER_TYPE[expect]), b)
            ),
          ),
          (bytes) => {
            const d = decodeHeader(bytes, expect);
            assert.ok(["header", "incomplete", "error"].includes(d.kind));
            if (d.kind === "header") {
              assert.equal(d.header.type, expect);
              assert.ok(d.used <= bytes.byteLength);
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});

Deno.test("decodeHeader() answers truncated or bit-flipped headers without throwing", () => {
  fc.assert(
    fc.property(headerArb, fc.nat(), fc.integer({ min: 0, max: 7 }), (header, at, bit) => {
      const flipped = encodeHeader(header).slice();
      flipped[at % flipped.byteLength] ^= 1 << bit;
      const d = decodeHeader(flipped, header.type);
      assert.ok(["header", "incomplete", "error"].includes(d.kind));
    }),
    { numRuns: 300 },
  );
});

Deno.test("encodeHeader() marks UDP flows with their own type bytes and decodeHeader() reads them", () => {
  assert.deepEqual(UDP_HEADER_TYPE, { open: 0x13, flow: 0x14 });
  const open = encodeHeader({ type: "open", service: "dns", protocol: "udp" });
  assert.deepEqual(open, Uint8Array.of(0x13, 3, 0x64, 0x6e, 0x73));
  assert.deepEqual(decodeHeader(open, "open"), {
    kind: "header",
    header: { type: "open", service: "dns", protocol: "udp" },
    used: 5,
  });
  const flow = encodeHeader({
    type: "flow",
    flowId: 9,
    service: "dns",
    identity: "a",
    protocol: "udp",
  });
  assert.equal(flow[0], 0x14);
  const d = decodeHeader(flow, "flow");
  assert.ok(d.kind === "header" && d.header.protocol === "udp" && d.header.flowId === 9);
  // A TCP header never carries the field, so TCP round trips stay exact.
  const tcp = decodeHeader(encodeHeader({ type: "open", service: "dns" }), "open");
  assert.ok(tcp.kind === "header" && !("protocol" in tcp.header));
});

Deno.test("ACCEPT header: golden bytes, round trip, incomplete and mixed with REPLY", () => {
  const golden = Uint8Array.of(0x15, 0, 0, 0, 7);
  assert.deepEqual(encodeHeader({ type: "accept", flowId: 7 }), golden);
  assert.deepEqual(decodeHeader(golden, "accept"), {
    kind: "header",
    header: { type: "accept", flowId: 7 },
    used: 5,
  });
  assert.deepEqual(decodeHeader(golden.subarray(0, 4), "accept"), { kind: "incomplete" });
  // A protocol-3 connector's answer: ACCEPT then REPLY, or a REPLY straight away.
  const reply = encodeHeader({ type: "reply", code: "backend_refused", flowId: 7 });
  const both = concat(golden, reply);
  const first = decodeAcceptOrReply(both);
  assert.equal(first.kind === "header" && first.header.type, "accept");
  const second = decodeAcceptOrReply(both.subarray(5));
  assert.equal(second.kind === "header" && second.header.type, "reply");
  // An ACCEPT where a REPLY must come (a v2 reader) is a protocol error, never a silent success.
  assert.equal(decodeHeader(golden, "reply").kind, "error");
});
