/**
 * Raw TCP helpers for e2e tests: a backend that reads to EOF before it answers (proves half-close
 * crosses the tunnel), a bulk source/sink with SHA-256 on both ends, and a one-shot request.
 * @module
 */
import { createHash } from "node:crypto";

async function readAll(conn: Deno.Conn, onChunk?: (b: Uint8Array) => void): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  while (true) {
    const n = await conn.read(buf);
    if (n === null) return parts;
    const chunk = buf.slice(0, n);
    if (onChunk) onChunk(chunk);
    else parts.push(chunk);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let at = 0;
  while (at < data.byteLength) at += await conn.write(data.subarray(at));
}

/** A TCP server on loopback with its port and a close function. */
export interface TestServer {
  port: number;
  close(): void;
}

/** Serves each connection with `handle`, errors ignored (the test asserts on the client side). */
export function tcpServer(handle: (conn: Deno.TcpConn) => Promise<void>): TestServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of listener) {
      handle(conn).catch(() => {}).finally(() => {
        try {
          conn.close();
        } catch { /* closed */ }
      });
    }
  })().catch(() => {});
  return { port: listener.addr.port, close: () => listener.close() };
}

/** Reads the whole request to EOF, then answers `echo:` + request: works only if FIN crosses. */
export function echoAfterEofServer(): TestServer {
  return tcpServer(async (conn) => {
    const req = concat(await readAll(conn));
    await writeAll(conn, concat([new TextEncoder().encode("echo:"), req]));
  });
}

/** Connects, sends `data`, half-closes, and returns everything received until EOF. */
export async function tcpRequest(port: number, data: Uint8Array): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, data);
    await conn.closeWrite();
    return concat(await readAll(conn));
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/** Deterministic pseudo-random block `i` of `size` bytes (xorshift), so both ends can agree. */
export function block(i: number, size = 1024 * 1024): Uint8Array {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer);
  let x = (i * 2654435761) >>> 0 || 1;
  for (let k = 0; k < words.length; k++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[k] = x >>> 0;
  }
  return out;
}

/** SHA-256 (hex) of `mib` deterministic blocks. */
export function expectedHash(mib: number): string {
  const h = createHash("sha256");
  for (let i = 0; i < mib; i++) h.update(block(i));
  return h.digest("hex");
}

/** A sink: hashes everything it receives until EOF, then answers the hex digest. */
export function hashingSinkServer(): TestServer {
  return tcpServer(async (conn) => {
    const h = createHash("sha256");
    await readAll(conn, (b) => h.update(b));
    await writeAll(conn, new TextEncoder().encode(h.digest("hex")));
  });
}

/** A source: on connect, sends `mib` deterministic blocks, then closes. */
export function sourceServer(mib: number): TestServer {
  return tcpServer(async (conn) => {
    for (let i = 0; i < mib; i++) await writeAll(conn, block(i));
  });
}

/** Sends `mib` blocks through `port` and returns the answer (the sink's digest). */
export async function uploadBlocks(port: number, mib: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const reading = readAll(conn);
    for (let i = 0; i < mib; i++) await writeAll(conn, block(i));
    await conn.closeWrite();
    return new TextDecoder().decode(concat(await reading));
  } finally {
    conn.close();
  }
}

/** Reads everything from `port` and returns its SHA-256 and length. */
export async function downloadHash(port: number): Promise<{ hash: string; bytes: number }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const h = createHash("sha256");
  let bytes = 0;
  try {
    await conn.closeWrite();
    await readAll(conn, (b) => {
      h.update(b);
      bytes += b.byteLength;
    });
    return { hash: h.digest("hex"), bytes };
  } finally {
    conn.close();
  }
}
