import assert from "node:assert/strict";
import fc from "fast-check";
import { ERROR_CODES } from "./errors.ts";
import { type ControlMessageInput, decodeMessage, encodeMessage } from "./messages.ts";

const enc = new TextEncoder();

const HELLO = {
  type: "hello",
  versions: [2],
  role: "connector",
  token: "eyJhbGciOiJFZERTQSJ9.e30.c2ln",
  software: "ztna/0.2.0",
} as const satisfies ControlMessageInput;

const WELCOME = {
  type: "welcome",
  version: 2,
  connId: "c-01",
  identity: "alice@example.com",
  role: "client",
  services: ["db", "web.internal", "*"],
  observed: { hostname: "2001:db8::1", port: 50_123 },
  limits: { maxStreams: 100, maxMessageBytes: 65_536 },
  tokenExpiresAt: 1_700_003_600,
} as const satisfies ControlMessageInput;

const SAMPLES: ReadonlyArray<ControlMessageInput> = [
  HELLO,
  { type: "hello", versions: [2, 3], role: "client", token: "t" },
  WELCOME,
  { type: "refused", code: "token_expired" },
  { type: "register", service: "db" },
  { type: "ack", service: "web.internal" },
  { type: "nack", service: "db", code: "unauthorized" },
  { type: "path_report", service: "db", path: "direct" },
  { type: "observed", hostname: "198.18.0.2", port: 40_001 },
  {
    type: "fleet",
    relays: [
      { address: "relay1.example.com:443" },
      { address: "[2001:db8::1]:443", server_name: "relay2.example.com" },
    ],
  },
  { type: "fleet", relays: [] },
  { type: "drain" },
];

function decodeJson(value: unknown) {
  return decodeMessage(enc.encode(JSON.stringify(value)));
}

function assertRejected(value: unknown, label: string) {
  const d = decodeJson(value);
  assert.equal(d.ok, false, label);
  if (!d.ok) assert.equal(d.code, "protocol_error", label);
}

Deno.test("encodeMessage() writes compact UTF-8 JSON", () => {
  assert.deepEqual(
    encodeMessage({ type: "register", service: "db" }),
    enc.encode('{"type":"register","service":"db"}'),
  );
});

Deno.test("decodeMessage() round trips every message type", async (t) => {
  for (const msg of SAMPLES) {
    await t.step(`${msg.type} ${JSON.stringify(msg).length} bytes`, () => {
      const d = decodeMessage(encodeMessage(msg));
      assert.ok(d.ok, d.ok ? "" : d.why);
      assert.deepEqual(d.msg, msg);
    });
  }
});

Deno.test("decodeMessage() round trips every known error code in refused and nack", () => {
  for (const code of ERROR_CODES) {
    assert.deepEqual(decodeJson({ type: "refused", code }), {
      ok: true,
      msg: { type: "refused", code },
    });
    const nack = { type: "nack", service: "db", code };
    assert.deepEqual(decodeJson(nack), { ok: true, msg: nack });
  }
});

Deno.test("decodeMessage() maps an error code from a newer peer to unknown", () => {
  assert.deepEqual(decodeJson({ type: "refused", code: "quantum_flux" }), {
    ok: true,
    msg: { type: "refused", code: "unknown" },
  });
  assert.deepEqual(decodeJson({ type: "nack", service: "db", code: "not_today" }), {
    ok: true,
    msg: { type: "nack", service: "db", code: "unknown" },
  });
});

Deno.test("decodeMessage() rejects an error code over 64 characters", () => {
  assertRejected({ type: "refused", code: "x".repeat(65) }, "65 characters");
});

Deno.test("decodeMessage() rejects invalid UTF-8", () => {
  for (
    const bytes of [
      Uint8Array.of(0xff),
      Uint8Array.of(0x7b, 0xc3, 0x7d), // truncated two-byte sequence
      Uint8Array.of(0xed, 0xa0, 0x80), // encoded surrogate
      Uint8Array.of(0xc0, 0xaf), // overlong "/"
    ]
  ) {
    assert.deepEqual(decodeMessage(bytes), {
      ok: false,
      code: "protocol_error",
      why: "invalid UTF-8",
    });
  }
});

Deno.test("decodeMessage() rejects invalid JSON", () => {
  for (
    const text of ["", "{", '{"type":"ack",}', "undefined", "{'type':'ack'}", '{"type":"ack"} x']
  ) {
    assert.deepEqual(decodeMessage(enc.encode(text)), {
      ok: false,
      code: "protocol_error",
      why: "invalid JSON",
    }, JSON.stringify(text));
  }
});

Deno.test("decodeMessage() rejects JSON that is not a known message", () => {
  for (
    const value of [null, 1, "hello", [], {}, { type: "goodbye" }, { type: 7 }, { service: "db" }]
  ) {
    assertRejected(value, JSON.stringify(value));
  }
});

Deno.test("decodeMessage() rejects extra keys in every message type", () => {
  for (const msg of SAMPLES) assertRejected({ ...msg, admin: true }, msg.type);
  assertRejected({ ...WELCOME, observed: { ...WELCOME.observed, family: 6 } }, "nested observed");
  assertRejected({ ...WELCOME, limits: { ...WELCOME.limits, maxFlows: 1 } }, "nested limits");
});

Deno.test("decodeMessage() rejects missing keys", () => {
  for (const msg of SAMPLES) {
    for (const key of Object.keys(msg)) {
      if (key === "type" || key === "software") continue;
      const copy: Record<string, unknown> = { ...msg };
      delete copy[key];
      assertRejected(copy, `${msg.type} without ${key}`);
    }
  }
});

Deno.test("decodeMessage() rejects invalid service ids", async (t) => {
  const bad = [
    ["empty", ""],
    ["64 characters", "a".repeat(64)],
    ["uppercase", "DB"],
    ["unicode", "dbé"],
    ["a leading dot", ".db"],
    ["a leading dash", "-db"],
    ["a space", "d b"],
    ["a wildcard", "*"],
  ] as const;
  for (const [label, service] of bad) {
    await t.step(label, () => {
      assertRejected({ type: "register", service }, "register");
      assertRejected({ type: "ack", service }, "ack");
      if (service !== "*") assertRejected({ ...WELCOME, services: [service] }, "welcome");
    });
  }
  assert.ok(
    decodeJson({ type: "register", service: "a".repeat(63) }).ok,
    "63 characters is the longest",
  );
});

Deno.test("decodeMessage() rejects out-of-range fields", () => {
  const cases: Array<[string, unknown]> = [
    ["no versions", { ...HELLO, versions: [] }],
    ["version 0", { ...HELLO, versions: [0] }],
    ["a fractional version", { ...HELLO, versions: [2.5] }],
    ["17 versions", { ...HELLO, versions: Array.from({ length: 17 }, (_, i) => i + 1) }],
    ["an unknown role", { ...HELLO, role: "relay" }],
    ["an over-long token", { ...HELLO, token: "t".repeat(8_193) }],
    ["an over-long software", { ...HELLO, software: "s".repeat(65) }],
    ["a port over 65535", { ...WELCOME, observed: { hostname: "h", port: 65_536 } }],
    ["257 services", { ...WELCOME, services: Array.from({ length: 257 }, (_, i) => `s${i}`) }],
    ["zero maxStreams", { ...WELCOME, limits: { maxStreams: 0, maxMessageBytes: 1 } }],
    ["a nack service over 256", { type: "nack", service: "s".repeat(257), code: "internal" }],
    ["65 fleet relays", {
      type: "fleet",
      relays: Array.from({ length: 65 }, (_, i) => ({ address: `r${i}.example.com:443` })),
    }],
    ["a fleet address without a port", { type: "fleet", relays: [{ address: "r.example.com" }] }],
  ];
  for (const [label, value] of cases) assertRejected(value, label);
});

Deno.test("decodeMessage() answers arbitrary bytes without throwing", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2_000 }), (bytes) => {
      const d = decodeMessage(bytes);
      if (!d.ok) assert.equal(d.code, "protocol_error");
    }),
    { numRuns: 300 },
  );
});

Deno.test("decodeMessage() answers arbitrary JSON without throwing", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const d = decodeJson(value);
      if (!d.ok) assert.equal(d.code, "protocol_error");
    }),
    { numRuns: 300 },
  );
});

Deno.test("decodeMessage() answers mutated messages without throwing", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...SAMPLES),
      fc.string(),
      fc.jsonValue(),
      (msg, key, value) => {
        const d = decodeJson({ ...msg, [key]: value });
        if (!d.ok) assert.equal(d.code, "protocol_error");
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("decodeMessage() answers truncated or bit-flipped messages without throwing", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...SAMPLES),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 0, max: 7 }),
      (msg, cut, at, bit) => {
        const bytes = encodeMessage(msg);
        const flipped = bytes.slice();
        flipped[at % flipped.byteLength] ^= 1 << bit;
        for (const buf of [bytes.subarray(0, cut % (bytes.byteLength + 1)), flipped]) {
          const d = decodeMessage(buf);
          if (!d.ok) assert.equal(d.code, "protocol_error");
        }
      },
    ),
    { numRuns: 300 },
  );
});
