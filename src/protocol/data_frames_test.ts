import { concatBytes as concat } from "./bytes.ts";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_DATA_FRAME } from "./constants.ts";
import {
  DataFrameParser,
  END_FRAME,
  FRAME_HEADER,
  FRAME_TYPE,
  type FrameEvent,
  resetFrame,
  sealDataFrame,
} from "./data_frames.ts";
import { ERROR_CODES, type ErrorCode, ERRORS } from "./errors.ts";

/** A DATA frame built the way senders build it: payload first, header sealed in front. */
function dataFrame(payload: Uint8Array): Uint8Array {
  const buf = new Uint8Array(FRAME_HEADER + payload.byteLength);
  buf.set(payload, FRAME_HEADER);
  return sealDataFrame(buf, payload.byteLength);
}

/** What a receiver makes of a byte stream, independent of how the stream was chunked. */
interface Outcome {
  payload: Uint8Array;
  /** The first event that is not DATA, without its free-text `why`. */
  terminal: { kind: string; code?: string } | null;
  /** Whether bytes after END or RESET were reported. */
  trailing: boolean;
}

function parse(chunks: Uint8Array[]): Outcome {
  const parser = new DataFrameParser();
  const payloads: Uint8Array[] = [];
  let terminal: Outcome["terminal"] = null;
  let trailing = false;
  for (const chunk of chunks) {
    for (const ev of parser.push(chunk)) {
      if (terminal !== null) {
        assert.equal(ev.kind, "error", "only errors follow the end of a flow");
        // After an error the caller stops; whether later chunks add more errors depends on chunking.
        if (terminal.kind !== "error") trailing = true;
        continue;
      }
      if (ev.kind === "data") {
        assert.ok(ev.payload.byteLength > 0, "no empty DATA events");
        payloads.push(ev.payload.slice());
      } else {
        terminal = "code" in ev ? { kind: ev.kind, code: ev.code } : { kind: ev.kind };
        assert.ok(parser.finished, "finished after a terminal event");
      }
    }
  }
  return { payload: concat(...payloads), terminal, trailing };
}

/** Cuts `bytes` at the given (unsorted, possibly repeated) offsets. */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

const terminalArb = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.constant({ kind: "end" as const }),
  fc.record({ kind: fc.constant("reset" as const), code: fc.constantFrom(...ERROR_CODES) }),
);

/** A well-formed flow: some DATA frames, then END, RESET or nothing yet. */
const flowArb = fc
  .tuple(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 6 }), terminalArb)
  .map(([payloads, end]) => {
    const parts = payloads.map(dataFrame);
    let terminal: Outcome["terminal"] = null;
    if (end.kind === "end") {
      parts.push(END_FRAME);
      terminal = { kind: "end" };
    } else if (end.kind === "reset") {
      parts.push(resetFrame(end.code));
      terminal = { kind: "reset", code: end.code };
    }
    return {
      bytes: concat(...parts),
      expected: { payload: concat(...payloads), terminal, trailing: false },
    };
  });

Deno.test("FRAME_TYPE keeps its pinned type bytes", () => {
  assert.deepEqual(FRAME_TYPE, { data: 0x00, end: 0x01, reset: 0x02 });
  assert.equal(FRAME_HEADER, 4);
});

Deno.test("END_FRAME has the golden bytes", () => {
  assert.deepEqual(END_FRAME, Uint8Array.of(0x01, 0, 0, 0));
});

Deno.test("resetFrame() writes the golden bytes", () => {
  assert.deepEqual(resetFrame("no_connector"), Uint8Array.of(0x02, 0, 0, 2, 0x03, 0x02));
  assert.deepEqual(resetFrame("internal"), Uint8Array.of(0x02, 0, 0, 2, 0x04, 0xff));
});

Deno.test("sealDataFrame() writes a DATA header with a big-endian u24 length", () => {
  const buf = new Uint8Array(FRAME_HEADER + 0x012345 + 10).fill(0xee);
  const frame = sealDataFrame(buf, 0x012345);
  assert.deepEqual(frame.subarray(0, 5), Uint8Array.of(0x00, 0x01, 0x23, 0x45, 0xee));
  assert.equal(frame.byteLength, FRAME_HEADER + 0x012345);
  assert.equal(frame.buffer, buf.buffer, "a view, not a copy");
  assert.deepEqual(dataFrame(Uint8Array.of(0x61, 0x62)), Uint8Array.of(0x00, 0, 0, 2, 0x61, 0x62));
});

Deno.test("DataFrameParser reads the golden DATA, END and RESET frames", () => {
  const p = new DataFrameParser();
  assert.deepEqual(p.push(Uint8Array.of(0x00, 0, 0, 3, 0x61, 0x62, 0x63)), [
    { kind: "data", payload: Uint8Array.of(0x61, 0x62, 0x63) },
  ]);
  assert.equal(p.finished, false);
  assert.deepEqual(p.push(Uint8Array.of(0x01, 0, 0, 0)), [{ kind: "end" }]);
  assert.equal(p.finished, true);

  const r = new DataFrameParser();
  assert.deepEqual(r.push(Uint8Array.of(0x02, 0, 0, 2)), []);
  assert.deepEqual(r.push(Uint8Array.of(0x03, 0x07)), [{ kind: "reset", code: "flow_reset" }]);
  assert.equal(r.finished, true);
});

Deno.test("DataFrameParser reads a RESET frame delivered in one chunk", () => {
  // Regression: the header length was chosen before the type byte was read, so a whole RESET in one
  // chunk was cut at 4 bytes: code "unknown" plus a "bytes after the end" error for its code.
  for (const code of ["no_connector", "flow_reset", "internal"] as const) {
    assert.deepEqual(new DataFrameParser().push(resetFrame(code)), [{ kind: "reset", code }]);
  }
  const p = new DataFrameParser();
  assert.deepEqual(p.push(concat(dataFrame(Uint8Array.of(1)), resetFrame("backend_refused"))), [
    { kind: "data", payload: Uint8Array.of(1) },
    { kind: "reset", code: "backend_refused" },
  ]);
});

Deno.test("DataFrameParser passes DATA payloads through as views of the chunk", () => {
  const chunk = dataFrame(Uint8Array.of(1, 2, 3));
  const [ev] = new DataFrameParser().push(chunk);
  assert.equal(ev.kind, "data");
  if (ev.kind === "data") assert.equal(ev.payload.buffer, chunk.buffer);
});

Deno.test("DataFrameParser carries the code of a RESET, unknown for a newer peer's code", () => {
  for (const code of ERROR_CODES) {
    assert.deepEqual(parse(chunked(resetFrame(code), [1])).terminal, { kind: "reset", code });
  }
  assert.deepEqual(parse([Uint8Array.of(0x02), Uint8Array.of(0, 0, 2, 0x7e, 0x01)]).terminal, {
    kind: "reset",
    code: "unknown",
  });
});

Deno.test("DataFrameParser rejects an empty DATA frame", () => {
  const events = new DataFrameParser().push(Uint8Array.of(0x00, 0, 0, 0, 0x00, 0, 0, 1, 0x61));
  assert.equal(events.length, 1);
  assert.equal(events[0].kind === "error" && events[0].code, "protocol_error");
});

Deno.test("DataFrameParser rejects DATA over MAX_DATA_FRAME as frame_too_large", () => {
  const over = MAX_DATA_FRAME + 1;
  const p = new DataFrameParser();
  const events = p.push(Uint8Array.of(0x00, over >>> 16, (over >>> 8) & 0xff, over & 0xff));
  assert.equal(events.length, 1);
  assert.equal(events[0].kind === "error" && events[0].code, "frame_too_large");
  assert.equal(p.finished, true);
  const max = MAX_DATA_FRAME;
  assert.deepEqual(
    new DataFrameParser().push(Uint8Array.of(0x00, max >>> 16, (max >>> 8) & 0xff, max & 0xff)),
    [],
    "exactly MAX_DATA_FRAME waits for its payload",
  );
});

Deno.test("DataFrameParser reports bytes after END as an error", () => {
  const whole = parse([concat(END_FRAME, Uint8Array.of(0x00))]);
  assert.deepEqual(whole, {
    payload: new Uint8Array(0),
    terminal: { kind: "end" },
    trailing: true,
  });
  const p = new DataFrameParser();
  assert.deepEqual(p.push(END_FRAME), [{ kind: "end" }]);
  const after = p.push(dataFrame(Uint8Array.of(1)));
  assert.equal(after.length, 1);
  assert.equal(after[0].kind === "error" && after[0].code, "protocol_error");
  assert.deepEqual(p.push(new Uint8Array(0)), [], "an empty chunk is nothing");
});

Deno.test("DataFrameParser reports bytes after RESET as an error", () => {
  const out = parse([resetFrame("flow_reset"), Uint8Array.of(0x01, 0, 0, 0)]);
  assert.deepEqual(out.terminal, { kind: "reset", code: "flow_reset" });
  assert.equal(out.trailing, true);
});

Deno.test("DataFrameParser rejects unknown frame types", () => {
  for (const type of [0x03, 0x10, 0x11, 0x12, 0x7f, 0xff]) {
    const out = parse([Uint8Array.of(type, 0, 0, 0, 0, 0)]);
    assert.deepEqual(out.terminal, { kind: "error", code: "protocol_error" }, `type ${type}`);
  }
});

Deno.test("DataFrameParser rejects END with a payload and RESET of the wrong length", () => {
  const cases = [
    Uint8Array.of(0x01, 0, 0, 1, 0x00),
    Uint8Array.of(0x02, 0, 0, 0, 0x03, 0x07),
    Uint8Array.of(0x02, 0, 0, 3, 0x03, 0x07, 0x00),
  ];
  for (const bytes of cases) {
    assert.deepEqual(
      parse([bytes]).terminal,
      { kind: "error", code: "protocol_error" },
      `${bytes}`,
    );
  }
});

Deno.test("DataFrameParser gives the same result for every 2-way split", () => {
  const flows: Array<[string, Uint8Array, Outcome]> = [
    [
      "DATA, DATA, END",
      concat(dataFrame(Uint8Array.of(1, 2, 3)), dataFrame(Uint8Array.of(4)), END_FRAME),
      { payload: Uint8Array.of(1, 2, 3, 4), terminal: { kind: "end" }, trailing: false },
    ],
    [
      "DATA, RESET",
      concat(dataFrame(Uint8Array.of(9, 8)), resetFrame("backend_timeout")),
      {
        payload: Uint8Array.of(9, 8),
        terminal: { kind: "reset", code: "backend_timeout" },
        trailing: false,
      },
    ],
    [
      "DATA, END, junk",
      concat(dataFrame(Uint8Array.of(5)), END_FRAME, Uint8Array.of(0xff)),
      { payload: Uint8Array.of(5), terminal: { kind: "end" }, trailing: true },
    ],
  ];
  for (const [label, bytes, expected] of flows) {
    for (let cut = 0; cut <= bytes.byteLength; cut++) {
      assert.deepEqual(
        parse([bytes.subarray(0, cut), bytes.subarray(cut)]),
        expected,
        `${label} cut at ${cut}`,
      );
    }
  }
});

Deno.test("DataFrameParser gives the same result for every chunking of a flow", () => {
  fc.assert(
    fc.property(flowArb, fc.array(fc.nat(), { maxLength: 20 }), ({ bytes, expected }, cuts) => {
      assert.deepEqual(parse(chunked(bytes, cuts)), expected);
    }),
    { numRuns: 300 },
  );
});

Deno.test("DataFrameParser gives the same result for every byte-at-a-time flow", () => {
  fc.assert(
    fc.property(flowArb, ({ bytes, expected }) => {
      const bytewise = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
      assert.deepEqual(parse(bytewise), expected);
    }),
    { numRuns: 200 },
  );
});

Deno.test("DataFrameParser reports a truncated flow as a payload prefix with no end", () => {
  fc.assert(
    fc.property(flowArb, fc.nat(), ({ bytes, expected }, cut) => {
      const at = cut % (bytes.byteLength + 1);
      const out = parse([bytes.subarray(0, at)]);
      assert.deepEqual(expected.payload.subarray(0, out.payload.byteLength), out.payload);
      if (at < bytes.byteLength) assert.equal(out.terminal, null);
    }),
    { numRuns: 300 },
  );
});

Deno.test("DataFrameParser answers arbitrary bytes without throwing, in any chunking alike", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 2_000 }), flowArb.map((f) => f.bytes)),
      fc.array(fc.nat(), { maxLength: 20 }),
      (bytes, cuts) => {
        const whole = parse([bytes]);
        assert.deepEqual(parse(chunked(bytes, cuts)), whole);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("DataFrameParser answers bit-flipped flows without throwing", () => {
  fc.assert(
    fc.property(flowArb, fc.nat(), fc.integer({ min: 0, max: 7 }), ({ bytes }, at, bit) => {
      if (bytes.byteLength === 0) return;
      const flipped = bytes.slice();
      flipped[at % flipped.byteLength] ^= 1 << bit;
      const events: FrameEvent[] = new DataFrameParser().push(flipped);
      for (const ev of events) assert.ok(["data", "end", "reset", "error"].includes(ev.kind));
    }),
    { numRuns: 300 },
  );
});

// Keeps the table of codes a RESET can carry in sync with what a u16 can hold.
Deno.test("resetFrame() encodes every code in two bytes", () => {
  for (const code of ERROR_CODES as ErrorCode[]) {
    const frame = resetFrame(code);
    assert.equal((frame[4] << 8) | frame[5], ERRORS[code].wire);
  }
});
