import { concatBytes as concat } from "../protocol/bytes.ts";
import assert from "node:assert/strict";
import {
  DATA_CHUNK,
  DataFrameParser,
  END_FRAME,
  type ErrorCode,
  FRAME_HEADER,
  resetFrame,
  sealDataFrame,
} from "../protocol/mod.ts";
import { ChunkReader } from "./chunk_reader.ts";
import { runTcpFlow, type TcpFlowResult } from "./tcp_flow.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function dataFrame(payload: Uint8Array): Uint8Array {
  const buf = new Uint8Array(FRAME_HEADER + payload.byteLength);
  buf.set(payload, FRAME_HEADER);
  return sealDataFrame(buf, payload.byteLength);
}

/** What runTcpFlow sent towards the remote endpoint, parsed as data frames. */
interface Sent {
  payload: Uint8Array;
  /** Every event that is not DATA: a well-behaved sender ends with exactly one END or RESET. */
  ends: Array<{ kind: "end" } | { kind: "reset" | "error"; code: ErrorCode | "unknown" }>;
  largestData: number;
}

async function collectFrames(readable: ReadableStream<Uint8Array>): Promise<Sent> {
  const parser = new DataFrameParser();
  const payloads: Uint8Array[] = [];
  const ends: Sent["ends"] = [];
  let largestData = 0;
  for await (const chunk of readable) {
    // Each write of runTcpFlow is one whole frame: check the header before parsing.
    if (chunk[0] === 0x00) {
      largestData = Math.max(largestData, (chunk[1] << 16) | (chunk[2] << 8) | chunk[3]);
    }
    for (const ev of parser.push(chunk)) {
      if (ev.kind === "data") payloads.push(ev.payload.slice());
      else if (ev.kind === "end") ends.push({ kind: "end" });
      else ends.push({ kind: ev.kind, code: ev.code });
    }
  }
  return { payload: concat(...payloads), ends, largestData };
}

/** Reads the backend side of the TCP connection until EOF or a reset. */
async function readTcp(conn: Deno.Conn): Promise<{ bytes: Uint8Array; end: "eof" | "reset" }> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  while (true) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch (err) {
      assert.ok(err instanceof Deno.errors.ConnectionReset, `unexpected ${err}`);
      return { bytes: concat(...parts), end: "reset" };
    }
    if (n === null) return { bytes: concat(...parts), end: "eof" };
    parts.push(buf.slice(0, n));
  }
}

async function writeTcp(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let at = 0;
  while (at < data.byteLength) at += await conn.write(data.subarray(at));
}

/**
 * A flow at an endpoint: `tcp` is handed to runTcpFlow, `backend` is the far end of that TCP
 * connection, and the QUIC stream pair to the remote endpoint is simulated with TransformStreams.
 */
async function startFlow() {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [tcp, backend] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  const inbound = new TransformStream<Uint8Array, Uint8Array>(); // remote endpoint → runTcpFlow
  const outbound = new TransformStream<Uint8Array, Uint8Array>(); // runTcpFlow → remote endpoint
  const sent = collectFrames(outbound.readable);
  const result: Promise<TcpFlowResult> = runTcpFlow(
    tcp,
    new ChunkReader(inbound.readable),
    outbound.writable,
  );
  return { backend, remote: inbound.writable.getWriter(), sent, result };
}

Deno.test("runTcpFlow() sends TCP bytes as DATA frames and TCP EOF as END", async () => {
  const { backend, remote, sent, result } = await startFlow();
  await writeTcp(backend, enc.encode("hello, "));
  await writeTcp(backend, enc.encode("world"));
  await backend.closeWrite();

  const out = await sent;
  assert.equal(dec.decode(out.payload), "hello, world");
  assert.deepEqual(out.ends, [{ kind: "end" }]);

  await remote.write(END_FRAME);
  await remote.close();
  assert.equal((await readTcp(backend)).end, "eof");
  assert.deepEqual(await result, { sent: "end", received: "end", bytesSent: 12, bytesReceived: 0 });
  backend.close();
});

Deno.test("runTcpFlow() writes the payload of DATA frames to TCP, however they are chunked", async () => {
  const { backend, remote, sent, result } = await startFlow();
  const frames = concat(
    dataFrame(enc.encode("GET / HTTP/1.1\r\n")),
    dataFrame(enc.encode("Host: db\r\n\r\n")),
    dataFrame(Uint8Array.of(0xff)),
    END_FRAME,
  );
  const received = readTcp(backend);
  // Cut through headers and payloads alike.
  for (const [from, to] of [[0, 1], [1, 3], [3, 10], [10, 21], [21, 40], [40, frames.byteLength]]) {
    await remote.write(frames.slice(from, to));
  }
  await remote.close();

  const got = await received;
  assert.equal(got.end, "eof", "END half-closes the TCP side");
  assert.deepEqual(
    got.bytes,
    concat(enc.encode("GET / HTTP/1.1\r\nHost: db\r\n\r\n"), Uint8Array.of(0xff)),
  );

  await backend.closeWrite();
  assert.deepEqual((await sent).ends, [{ kind: "end" }]);
  const r = await result;
  assert.equal(r.received, "end");
  assert.equal(r.sent, "end");
  assert.equal(r.bytesReceived, 29);
  backend.close();
});

Deno.test("runTcpFlow() keeps the other direction open after END half-closes TCP", async () => {
  const { backend, remote, sent, result } = await startFlow();
  await remote.write(concat(dataFrame(enc.encode("request")), END_FRAME));
  const got = await readTcp(backend);
  assert.deepEqual(got, { bytes: enc.encode("request"), end: "eof" });

  // The backend answers after it saw EOF, as an HTTP/1.0 server or `nc -q` would.
  await writeTcp(backend, enc.encode("response"));
  await backend.closeWrite();
  await remote.close();

  const out = await sent;
  assert.equal(dec.decode(out.payload), "response");
  assert.deepEqual(out.ends, [{ kind: "end" }]);
  assert.deepEqual(await result, { sent: "end", received: "end", bytesSent: 8, bytesReceived: 7 });
  backend.close();
});

Deno.test("runTcpFlow() carries a megabyte each way in bounded DATA frames", async () => {
  const { backend, remote, sent, result } = await startFlow();
  const up = new Uint8Array(1024 * 1024).map((_, i) => (i * 7) & 0xff);
  const down = new Uint8Array(1024 * 1024).map((_, i) => (i * 13) & 0xff);

  const backendSide = (async () => {
    const reading = readTcp(backend);
    await writeTcp(backend, up);
    await backend.closeWrite();
    return await reading;
  })();
  for (
    let at = 0, size = 1;
    at < down.byteLength;
    at += size, size = (size * 3 + 1) % 200_000 + 1
  ) {
    await remote.write(dataFrame(down.subarray(at, at + size)));
  }
  await remote.write(END_FRAME);
  await remote.close();

  const got = await backendSide;
  assert.equal(got.end, "eof");
  assert.ok(got.bytes.byteLength === down.byteLength && got.bytes.every((b, i) => b === down[i]));
  const out = await sent;
  assert.ok(out.payload.byteLength === up.byteLength && out.payload.every((b, i) => b === up[i]));
  assert.ok(out.largestData <= DATA_CHUNK, `DATA frame of ${out.largestData} bytes`);
  assert.deepEqual(out.ends, [{ kind: "end" }]);
  assert.deepEqual(await result, {
    sent: "end",
    received: "end",
    bytesSent: up.byteLength,
    bytesReceived: down.byteLength,
  });
  backend.close();
});

Deno.test("runTcpFlow() closes TCP and answers RESET when the peer sends RESET", async () => {
  const { backend, remote, sent, result } = await startFlow();
  await remote.write(dataFrame(enc.encode("partial")));
  await remote.write(resetFrame("backend_refused"));

  const got = await readTcp(backend);
  assert.equal(dec.decode(got.bytes), "partial");
  assert.ok(["eof", "reset"].includes(got.end));
  const r = await result;
  assert.equal(r.received, "reset");
  assert.equal(r.peerCode, "backend_refused");
  assert.equal(r.sent, "aborted");
  assert.deepEqual((await sent).ends, [{ kind: "reset", code: "flow_reset" }]);
  await remote.close().catch(() => {}); // the flow cancelled its input
  backend.close();
});

Deno.test("runTcpFlow() treats a stream that ends without END as aborted", async () => {
  const { backend, remote, sent, result } = await startFlow();
  await remote.write(dataFrame(enc.encode("cut")));
  await remote.close();

  const got = await readTcp(backend);
  assert.equal(dec.decode(got.bytes), "cut");
  assert.ok(["eof", "reset"].includes(got.end));
  const r = await result;
  assert.equal(r.received, "aborted");
  assert.equal(r.sent, "aborted");
  assert.equal(r.peerCode, undefined);
  assert.deepEqual((await sent).ends, [{ kind: "reset", code: "flow_reset" }]);
  backend.close();
});

Deno.test("runTcpFlow() aborts with the parser's code on a malformed frame", async () => {
  const { backend, remote, sent, result } = await startFlow();
  await remote.write(Uint8Array.of(0x7f, 0, 0, 0));

  assert.ok(["eof", "reset"].includes((await readTcp(backend)).end));
  const r = await result;
  assert.equal(r.received, "aborted");
  assert.equal(r.peerCode, "protocol_error");
  assert.deepEqual((await sent).ends, [{ kind: "reset", code: "protocol_error" }]);
  await remote.close().catch(() => {});
  backend.close();
});

Deno.test("runTcpFlow() aborts when the remote endpoint stops reading", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [tcp, backend] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  const inbound = new TransformStream<Uint8Array, Uint8Array>();
  const outbound = new TransformStream<Uint8Array, Uint8Array>();
  await outbound.readable.cancel("STOP_SENDING");
  const result = runTcpFlow(tcp, new ChunkReader(inbound.readable), outbound.writable);
  await writeTcp(backend, enc.encode("nobody listens"));

  assert.ok(["eof", "reset"].includes((await readTcp(backend)).end));
  const r = await result;
  assert.equal(r.sent, "aborted");
  assert.equal(r.received, "aborted");
  backend.close();
});
