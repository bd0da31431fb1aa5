/**
 * One TLS (or TCP) connection as a {@link ByteStream} with QUIC-stream semantics: closing the
 * writable half-closes (TLS close_notify + TCP FIN, the other direction goes on), aborting it or an
 * error closes the whole connection (a QUIC RESET), and the connection is closed once both
 * directions are done. Deno's own `conn.readable`/`conn.writable` close the whole resource on EOF
 * or `close()`, which would lose half-close, so reads and writes go through `read`/`write`.
 * @module
 */
import type { ByteStream } from "./peer_link.ts";

/** Read size when the consumer brings no buffer (Deno's own chunk size). */
const CHUNK = 64 * 1024;

/** What a connection stream needs of its connection. */
export type StreamConn = Pick<Deno.Conn, "read" | "write" | "close" | "closeWrite">;

/** Options of {@link connByteStream}. */
export interface ConnStreamOptions {
  /** Bytes already read from the connection (after its preamble), delivered first. */
  prefix?: Uint8Array;
  /**
   * A read already pending on the connection (an idle OFFER the relay watched), delivered first:
   * its bytes, or null at end of stream.
   */
  firstRead?: Promise<Uint8Array | null>;
  /** Called once when the connection is closed, however it ended. */
  onClose?: () => void;
}

/** Wraps `conn`; from now on only the returned stream reads, writes or closes it. */
export function connByteStream(conn: StreamConn, options: ConnStreamOptions = {}): ByteStream {
  let readDone = false;
  let writeDone = false;
  let closed = false;
  const closeNow = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch { /* already closed */ }
    options.onClose?.();
  };
  const maybeClose = () => {
    if (readDone && writeDone) closeNow();
  };
  let prefix = options.prefix && options.prefix.byteLength > 0 ? options.prefix : undefined;
  let firstRead = options.firstRead;
  const readable = new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: CHUNK,
    async pull(c: ReadableByteStreamController) {
      if (prefix) {
        c.enqueue(prefix.slice());
        prefix = undefined;
        return;
      }
      if (firstRead) {
        const first = await firstRead.catch((e: unknown) => e instanceof Error ? e : new Error());
        firstRead = undefined;
        if (first instanceof Error || first === null) {
          readDone = true;
          if (first === null) c.close();
          else c.error(first);
          if (first === null) c.byobRequest?.respond(0);
          maybeClose();
          return;
        }
        c.enqueue(first);
        return;
      }
      const req = c.byobRequest!;
      const view = req.view!;
      let n: number | null;
      try {
        n = await conn.read(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
      } catch (e) {
        readDone = true;
        c.error(e);
        closeNow();
        return;
      }
      if (n === null) {
        readDone = true;
        c.close();
        req.respond(0);
        maybeClose();
        return;
      }
      req.respond(n);
    },
    cancel() {
      readDone = true;
      maybeClose();
    },
  });
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      let at = 0;
      while (at < chunk.byteLength) at += await conn.write(chunk.subarray(at));
    },
    async close() {
      try {
        await conn.closeWrite();
      } catch { /* the connection is gone already */ }
      writeDone = true;
      maybeClose();
    },
    abort() {
      writeDone = true;
      closeNow();
    },
  });
  return { readable: readable as ReadableStream<Uint8Array>, writable };
}
