/**
 * The TCP load generator: measurements through a path's entry port. Bulk upload, bulk download,
 * request/response round trips (one connection each), the aggregate of parallel transfers, and the
 * time until a freshly started forward answers. Each is bounded in bytes or count and in time: the
 * deadline (or the caller's signal) closes the socket, which ends any pending read or write.
 * @module
 */
import { encodePreamble, PREAMBLE_BYTES, UPLOAD_ACK } from "./bench_protocol.ts";

/** Size of each write and read of a bulk transfer. */
const IO_CHUNK = 256 * 1024;

/** One bulk transfer. */
export interface ThroughputSample {
  bytes: number;
  /** Wall time from the first byte written to the last byte (or the sink's answer) received. */
  ms: number;
  mbps: number;
}

/** Options shared by every measurement. */
export interface LoadOptions {
  /** Aborts the measurement (the run was interrupted). */
  signal: AbortSignal;
  /** Deadline of this one measurement in milliseconds. */
  timeoutMs: number;
}

/** Options of {@link roundTrips}. */
export interface RoundTripOptions extends LoadOptions {
  /** Round trips timed and returned. */
  count: number;
  /** Round trips before timing starts (connection setup, JIT, congestion window). */
  warmup: number;
  /** Bytes of each request and of each response. @default {64} */
  messageBytes?: number;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let at = 0;
  while (at < data.byteLength) at += await conn.write(data.subarray(at));
}

/** Connects to `port` and runs `body` with the socket closed on deadline, abort, or return. */
async function withConnection<T>(
  port: number,
  options: LoadOptions,
  what: string,
  body: (conn: Deno.TcpConn) => Promise<T>,
): Promise<T> {
  const { signal, timeoutMs } = options;
  signal.throwIfAborted();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port, transport: "tcp" });
  conn.setNoDelay(true);
  let closed = false;
  let why = "";
  const close = (reason: string) => {
    if (closed) return;
    closed = true;
    why = reason;
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  const timer = setTimeout(() => close(`timed out after ${timeoutMs} ms`), timeoutMs);
  const onAbort = () => close("interrupted");
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await body(conn);
  } catch (e) {
    if (why) throw new Error(`${what} on port ${port}: ${why}`, { cause: e });
    throw e;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
    close("done");
  }
}

function sample(bytes: number, ms: number): ThroughputSample {
  return { bytes, ms, mbps: (bytes * 8) / (ms * 1_000) };
}

/** Sends `bytes` to the sink behind `port` and waits for its answer that it has them all. */
export function upload(
  port: number,
  bytes: number,
  options: LoadOptions,
): Promise<ThroughputSample> {
  return withConnection(port, options, "Upload", async (conn) => {
    const block = new Uint8Array(IO_CHUNK);
    crypto.getRandomValues(block.subarray(0, 65_536));
    const start = performance.now();
    await writeAll(conn, encodePreamble("upload", bytes));
    let left = bytes;
    while (left > 0) {
      const n = Math.min(left, block.byteLength);
      await writeAll(conn, block.subarray(0, n));
      left -= n;
    }
    const ack = new Uint8Array(1);
    const n = await conn.read(ack);
    const ms = performance.now() - start;
    if (n !== 1 || ack[0] !== UPLOAD_ACK) {
      throw new Error(`Upload on port ${port}: no answer from the sink`);
    }
    return sample(bytes, ms);
  });
}

/** Asks the source behind `port` for `bytes` and reads them all. */
export function download(
  port: number,
  bytes: number,
  options: LoadOptions,
): Promise<ThroughputSample> {
  return withConnection(port, options, "Download", async (conn) => {
    const buf = new Uint8Array(IO_CHUNK);
    const start = performance.now();
    await writeAll(conn, encodePreamble("download", bytes));
    let got = 0;
    while (got < bytes) {
      const n = await conn.read(buf);
      if (n === null) {
        throw new Error(`Download on port ${port}: ended after ${got} of ${bytes} bytes`);
      }
      got += n;
    }
    return sample(got, performance.now() - start);
  });
}

/** Times `count` request/response round trips on one connection; returns each in microseconds. */
export function roundTrips(port: number, options: RoundTripOptions): Promise<Float64Array> {
  const { count, warmup, messageBytes = 64 } = options;
  return withConnection(port, options, "Round trips", async (conn) => {
    await writeAll(conn, encodePreamble("echo", 0));
    const request = new Uint8Array(messageBytes);
    crypto.getRandomValues(request);
    const response = new Uint8Array(messageBytes);
    const samples = new Float64Array(count);
    for (let i = 0; i < warmup + count; i++) {
      const start = performance.now();
      await writeAll(conn, request);
      let got = 0;
      while (got < messageBytes) {
        const n = await conn.read(response.subarray(got));
        if (n === null) {
          throw new Error(`Round trips on port ${port}: connection ended after ${i} round trips`);
        }
        got += n;
      }
      if (i >= warmup) samples[i - warmup] = (performance.now() - start) * 1_000;
    }
    return samples;
  });
}

/** Aggregate of {@link parallel} transfers. */
export interface ParallelSample extends ThroughputSample {
  flows: number;
}

/**
 * Runs `flows` transfers of `bytes / flows` each (upload or download) at once, each on its own
 * connection; the aggregate rate is all bytes over the wall time from the first connect to the
 * last transfer's end.
 */
export async function parallel(
  direction: "upload" | "download",
  port: number,
  bytes: number,
  options: LoadOptions & { flows: number },
): Promise<ParallelSample> {
  const { flows } = options;
  const each = Math.max(1, Math.floor(bytes / flows));
  const transfer = direction === "upload" ? upload : download;
  const start = performance.now();
  await Promise.all(Array.from({ length: flows }, () => transfer(port, each, options)));
  return { ...sample(each * flows, performance.now() - start), flows };
}

/** When a fresh forward first answered, in milliseconds after the caller's start time. */
export interface FirstByte {
  /** First connection the forward accepted. */
  connectMs: number;
  /** First byte of the response read through it. */
  firstByteMs: number;
  /** Connections tried until one was answered. */
  attempts: number;
}

/** Options of {@link firstResponseByte}. */
export interface FirstByteOptions extends LoadOptions {
  /** Pause between connection attempts while the port is not accepting. @default {5} */
  retryMs?: number;
}

/**
 * Connects to `port` until it accepts, then sends an echo request (preamble and 64 bytes) and waits
 * for the first byte of the answer. A connection that closes unanswered (the forward was not ready
 * behind its port) is retried. Times count from `startedAt` (a `performance.now()` value).
 * @throws {Error} when nothing answered before the deadline
 */
export async function firstResponseByte(
  port: number,
  startedAt: number,
  options: FirstByteOptions,
): Promise<FirstByte> {
  const { signal, timeoutMs, retryMs = 5 } = options;
  const deadline = startedAt + timeoutMs;
  const request = new Uint8Array(PREAMBLE_BYTES + 64);
  request.set(encodePreamble("echo", 0));
  request.fill(0x61, PREAMBLE_BYTES);
  let attempts = 0;
  let lastError = "nothing listening";
  while (performance.now() < deadline) {
    signal.throwIfAborted();
    attempts++;
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port, transport: "tcp" });
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
      await new Promise((r) => setTimeout(r, retryMs));
      continue;
    }
    const connectMs = performance.now() - startedAt;
    const timer = setTimeout(() => conn.close(), Math.max(1, deadline - performance.now()));
    try {
      conn.setNoDelay(true);
      await writeAll(conn, request);
      const n = await conn.read(new Uint8Array(64));
      if (n !== null && n > 0) {
        return { connectMs, firstByteMs: performance.now() - startedAt, attempts };
      }
      lastError = "closed without an answer";
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    } finally {
      clearTimeout(timer);
      try {
        conn.close();
      } catch { /* closed by the timer */ }
    }
    await new Promise((r) => setTimeout(r, retryMs));
  }
  throw new Error(`No answer through port ${port} within ${timeoutMs} ms (${lastError})`);
}
