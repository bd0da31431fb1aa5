import { concatBytes as concat } from "../protocol/bytes.ts";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeHeader,
  encodeHeader,
  type FlowHeader,
  type HeaderDecoded,
  MAX_STREAM_HEADER,
  ZtnaError,
} from "../protocol/mod.ts";
import { ChunkReader } from "./chunk_reader.ts";

const HEADER: FlowHeader = {
  type: "flow",
  flowId: 42,
  service: "db",
  identity: "alice@example.com",
};
const decodeFlow = (buf: Uint8Array) => decodeHeader(buf, "flow");

function streamOf(
  chunks: Uint8Array[],
  onCancel?: (reason: unknown) => void,
): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]);
      else controller.close();
    },
    cancel: onCancel,
  });
}

async function drain(reader: ChunkReader): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let chunk = await reader.next(); chunk !== null; chunk = await reader.next()) {
    parts.push(chunk);
  }
  return concat(...parts);
}

function bytewise(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (_, i) => bytes.slice(i, i + 1));
}

async function assertZtnaError(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ZtnaError, `${err}`);
    assert.equal(err.code, code);
    return true;
  });
}

const PAYLOAD = new TextEncoder().encode("payload after the header");

Deno.test("ChunkReader.readHeader() assembles a header delivered one byte at a time", async () => {
  const bytes = concat(encodeHeader(HEADER), PAYLOAD);
  const reader = new ChunkReader(streamOf(bytewise(bytes)));
  assert.deepEqual(await reader.readHeader(decodeFlow), HEADER);
  assert.deepEqual(reader.buffered, new Uint8Array(0), "reads no further than the header needs");
  assert.deepEqual(await drain(reader), PAYLOAD);
  assert.equal(reader.eof, true);
});

Deno.test("ChunkReader.readHeader() reads a header delivered with its payload in one chunk", async () => {
  const reader = new ChunkReader(
    streamOf([concat(encodeHeader(HEADER), PAYLOAD), Uint8Array.of(1, 2)]),
  );
  assert.deepEqual(await reader.readHeader(decodeFlow), HEADER);
  assert.deepEqual(reader.buffered, PAYLOAD);
  assert.deepEqual(await reader.next(), PAYLOAD, "leftover bytes come first");
  assert.deepEqual(await reader.next(), Uint8Array.of(1, 2));
  assert.equal(await reader.next(), null);
  assert.equal(await reader.next(), null, "stays at end of stream");
});

Deno.test("ChunkReader.readHeader() reads two headers in a row from one stream", async () => {
  const reply = { type: "reply", code: "ok", flowId: 9 } as const;
  const bytes = concat(encodeHeader(HEADER), encodeHeader(reply), PAYLOAD);
  const reader = new ChunkReader(streamOf([bytes]));
  assert.deepEqual(await reader.readHeader(decodeFlow), HEADER);
  assert.deepEqual(await reader.readHeader((b) => decodeHeader(b, "reply")), reply);
  assert.deepEqual(await drain(reader), PAYLOAD);
});

Deno.test("ChunkReader.readHeader() gives the same header and leftover for every chunking", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), async (cuts) => {
      const bytes = concat(encodeHeader(HEADER), PAYLOAD);
      const points = [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) =>
        a - b
      );
      const chunks: Uint8Array[] = [];
      let from = 0;
      for (const p of [...points, bytes.byteLength]) {
        chunks.push(bytes.slice(from, p));
        from = p;
      }
      const reader = new ChunkReader(streamOf(chunks));
      assert.deepEqual(await reader.readHeader(decodeFlow), HEADER);
      assert.deepEqual(await drain(reader), PAYLOAD);
    }),
    { numRuns: 200 },
  );
});

Deno.test("ChunkReader.readHeader() throws protocol_error when the stream ends before the header", async () => {
  const header = encodeHeader(HEADER);
  for (const n of [0, 1, 5, header.byteLength - 1]) {
    const reader = new ChunkReader(streamOf(bytewise(header.subarray(0, n))));
    await assertZtnaError(reader.readHeader(decodeFlow), "protocol_error");
    assert.equal(reader.eof, true);
  }
});

Deno.test("ChunkReader.readHeader() throws the decoder's own code", async () => {
  const reader = new ChunkReader(streamOf([Uint8Array.of(0x10, 0)]));
  await assertZtnaError(reader.readHeader((b) => decodeHeader(b, "open")), "invalid_service_id");
  const wrongType = new ChunkReader(streamOf([encodeHeader(HEADER)]));
  await assertZtnaError(wrongType.readHeader((b) => decodeHeader(b, "reply")), "protocol_error");
});

Deno.test("ChunkReader.readHeader() throws protocol_error for a header over max bytes", async () => {
  const never = (): HeaderDecoded<never> => ({ kind: "incomplete" });
  // An endless stream: only the bound stops the reader.
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += 100;
      controller.enqueue(new Uint8Array(100));
    },
  });
  const reader = new ChunkReader(endless);
  await assertZtnaError(reader.readHeader(never), "protocol_error");
  assert.ok(reader.buffered.byteLength > MAX_STREAM_HEADER);
  assert.ok(
    reader.buffered.byteLength <= MAX_STREAM_HEADER + 100,
    "stops at the first chunk over the bound",
  );
  assert.ok(pulled <= MAX_STREAM_HEADER + 300);
  await reader.cancel();

  const small = new ChunkReader(streamOf(bytewise(new Uint8Array(50))));
  await assertZtnaError(small.readHeader(never, 10), "protocol_error");
  assert.equal(small.buffered.byteLength, 11);
  await small.cancel();
});

Deno.test("ChunkReader.fill() reports the end of the stream", async () => {
  const reader = new ChunkReader(streamOf([Uint8Array.of(1), Uint8Array.of(2, 3)]));
  assert.equal(await reader.fill(), true);
  assert.equal(await reader.fill(), true);
  assert.deepEqual(reader.buffered, Uint8Array.of(1, 2, 3));
  assert.equal(reader.eof, false);
  assert.equal(await reader.fill(), false);
  assert.equal(reader.eof, true);
  assert.equal(await reader.fill(), false);
  reader.consume(2);
  assert.deepEqual(reader.buffered, Uint8Array.of(3));
  assert.deepEqual(await reader.next(), Uint8Array.of(3));
  assert.equal(await reader.next(), null);
});

Deno.test("ChunkReader.cancel() cancels the stream with its reason and never throws", async () => {
  const reasons: unknown[] = [];
  const reader = new ChunkReader(streamOf([Uint8Array.of(1)], (r) => reasons.push(r)));
  await reader.cancel("flow aborted");
  assert.deepEqual(reasons, ["flow aborted"]);
  assert.equal(await reader.next(), null);

  const failing = new ChunkReader(
    new ReadableStream<Uint8Array>({
      cancel() {
        throw new Error("already gone");
      },
    }),
  );
  await failing.cancel("again");
});

Deno.test("ChunkReader.next() rejects when the stream errors", async () => {
  const reader = new ChunkReader(
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.error(new Error("stream reset"));
      },
    }),
  );
  await assert.rejects(reader.next(), /stream reset/);
});

/** A byte stream like Deno's QUIC receive streams: fills the reader's own buffer when it has one. */
function byteStreamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (i >= chunks.length) {
        controller.close();
        controller.byobRequest?.respond(0);
        return;
      }
      const chunk = chunks[i++];
      const view = controller.byobRequest?.view;
      if (view) {
        new Uint8Array(view.buffer, view.byteOffset, chunk.byteLength).set(chunk);
        controller.byobRequest!.respond(chunk.byteLength);
      } else controller.enqueue(chunk.slice());
    },
  });
}

Deno.test("nextReusing reads a byte stream into one buffer, header bytes first", async () => {
  const frame = encodeHeader(HEADER);
  const body = [Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5), Uint8Array.of(6)];
  const reader = new ChunkReader(byteStreamOf([concat(frame, Uint8Array.of(9)), ...body]));
  assert.deepEqual(await reader.readHeader(decodeFlow), HEADER);
  assert.deepEqual(await reader.nextReusing(), Uint8Array.of(9)); // buffered after the header
  const seen: number[] = [];
  let previous: Uint8Array | undefined;
  for (let c = await reader.nextReusing(); c !== null; c = await reader.nextReusing()) {
    assert.equal(c.buffer.byteLength, 64 * 1024); // the reader's scratch buffer, not a fresh chunk
    // The next read transferred the buffer the previous chunk lived in: one buffer, lent again.
    if (previous) assert.equal(previous.buffer.byteLength, 0);
    seen.push(...c);
    previous = c;
  }
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
  assert.equal(reader.eof, true);
  assert.equal(await reader.next(), null);
});

Deno.test("nextReusing falls back to plain reads on a stream that is not a byte stream", async () => {
  const reader = new ChunkReader(streamOf([Uint8Array.of(1), Uint8Array.of(2, 3)]));
  assert.deepEqual(await reader.nextReusing(), Uint8Array.of(1));
  assert.deepEqual(await reader.next(), Uint8Array.of(2, 3));
  assert.equal(await reader.nextReusing(), null);
});

Deno.test("next() still hands out chunks of their own after a switch to BYOB reads", async () => {
  const reader = new ChunkReader(byteStreamOf([Uint8Array.of(1), Uint8Array.of(2)]));
  const first = await reader.nextReusing();
  assert.deepEqual(first, Uint8Array.of(1));
  const kept = await reader.next();
  assert.deepEqual(kept, Uint8Array.of(2));
  assert.notEqual(kept!.buffer, first!.buffer);
  assert.equal(await reader.nextReusing(), null);
  await reader.cancel("done"); // cancels through the BYOB reader without throwing
});
