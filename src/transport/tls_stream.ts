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

/**
 * The first chunk an idle connection delivers (at most `bytes`), or null when it ends first: the
 * read that watches a parked or offered connection and becomes its stream's `firstRead`.
 * @throws (rejects) when the read fails
 */
export function readFirst(conn: StreamConn, bytes: number): Promise<Uint8Array | null> {
  const buf = new Uint8Array(bytes);
  return conn.read(buf).then((n) => n === null ? null : buf.subarray(0, n));
}

/** Wraps `conn`; from now on only the returned stream reads, writes or closes it. */
export function connByteStream(conn: StreamConn, options: ConnStreamOptions = {}): ByteStream {
  const life = new ConnLife(conn, options.onClose);
  const source = new ConnSource(conn, life, options);
  const readable = new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: CHUNK,
    pull: (c: ReadableByteStreamController) => source.pull(c),
    cancel() {
      life.readDone = true;
      life.maybeClose();
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
      life.writeDone = true;
      life.maybeClose();
    },
    abort() {
      life.writeDone = true;
      life.closeNow();
    },
  });
  return { readable: readable as ReadableStream<Uint8Array>, writable };
}

/** Which directions of a wrapped connection are done; closes it once, when both are or on error. */
class ConnLife {
  readDone = false;
  writeDone = false;
  #closed = false;

  constructor(readonly conn: StreamConn, readonly onClose?: () => void) {}

  closeNow(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
    this.onClose?.();
  }

  maybeClose(): void {
    if (this.readDone && this.writeDone) this.closeNow();
  }
}

/** The readable side: the prefix, the read pending before the wrap, then reads into the buffer. */
class ConnSource {
  #prefix: Uint8Array | undefined;
  #firstRead: Promise<Uint8Array | null> | undefined;

  constructor(readonly conn: StreamConn, readonly life: ConnLife, options: ConnStreamOptions) {
    this.#prefix = options.prefix && options.prefix.byteLength > 0 ? options.prefix : undefined;
    this.#firstRead = options.firstRead;
  }

  async pull(c: ReadableByteStreamController): Promise<void> {
    if (this.#prefix) {
      c.enqueue(this.#prefix.slice());
      this.#prefix = undefined;
      return;
    }
    if (this.#firstRead) return await this.#pullFirst(c, this.#firstRead);
    const req = c.byobRequest!;
    const view = req.view!;
    let n: number | null;
    try {
      n = await this.conn.read(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    } catch (e) {
      this.life.readDone = true;
      c.error(e);
      this.life.closeNow();
      return;
    }
    if (n === null) {
      this.life.readDone = true;
      c.close();
      req.respond(0);
      this.life.maybeClose();
      return;
    }
    req.respond(n);
  }

  /** Delivers the read that was pending before the wrap: its bytes, its end, or its error. */
  async #pullFirst(
    c: ReadableByteStreamController,
    firstRead: Promise<Uint8Array | null>,
  ): Promise<void> {
    const first = await firstRead.catch((e: unknown) => e instanceof Error ? e : new Error());
    this.#firstRead = undefined;
    if (first instanceof Error || first === null) {
      this.life.readDone = true;
      if (first === null) c.close();
      else c.error(first);
      if (first === null) c.byobRequest?.respond(0);
      this.life.maybeClose();
      return;
    }
    c.enqueue(first);
  }
}
