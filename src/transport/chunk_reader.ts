/**
 * Reads a QUIC receive stream chunk by chunk while a header or control frame is being assembled,
 * then hands the remaining bytes and the stream back for plain forwarding.
 * @module
 */
import { concatBytes, type HeaderDecoded, MAX_STREAM_HEADER, ZtnaError } from "../protocol/mod.ts";

/** Size of the one buffer a reader reuses for every `nextReusing()` read (Deno's own chunk size). */
export const REUSED_READ_BYTES = 64 * 1024;

/** Buffers the front of a byte stream; never holds more than the caller's bound. */
export class ChunkReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #byob: ReadableStreamBYOBReader | undefined;
  /** The buffer `nextReusing()` lends out; a BYOB read transfers it, so it is swapped each read. */
  #scratch: ArrayBuffer | undefined;
  #notBytes = false;
  #buf: Uint8Array = new Uint8Array(0);
  #eof = false;

  constructor(readonly readable: ReadableStream<Uint8Array>) {
    this.#reader = readable.getReader();
  }

  /** Bytes received and not yet consumed. */
  get buffered(): Uint8Array {
    return this.#buf;
  }

  /** True once the peer finished its side and everything buffered is all there is. */
  get eof(): boolean {
    return this.#eof;
  }

  /** Reads one more chunk into the buffer; false at end of stream. */
  async fill(): Promise<boolean> {
    if (this.#eof) return false;
    const { done, value } = await this.#read();
    if (done) {
      this.#eof = true;
      return false;
    }
    this.#buf = this.#buf.byteLength === 0 ? value : concatBytes(this.#buf, value);
    return true;
  }

  /** Drops `n` consumed bytes from the front. */
  consume(n: number): void {
    this.#buf = this.#buf.subarray(n);
  }

  /**
   * Reads until `decode` yields a header.
   * @throws {ZtnaError} protocol_error when the stream ends first or the header is over `max` bytes,
   * or the decoder's own code.
   */
  async readHeader<T>(
    decode: (buf: Uint8Array) => HeaderDecoded<T>,
    max = MAX_STREAM_HEADER,
  ): Promise<T> {
    while (true) {
      const d = decode(this.#buf);
      if (d.kind === "header") {
        this.consume(d.used);
        return d.header;
      }
      if (d.kind === "error") throw new ZtnaError(d.code, d.why);
      if (this.#buf.byteLength > max) {
        throw new ZtnaError("protocol_error", "stream header too long");
      }
      if (!(await this.fill())) {
        throw new ZtnaError("protocol_error", "stream ended before its header");
      }
    }
  }

  /** Reads the next chunk, serving buffered bytes first; null at end of stream. */
  async next(): Promise<Uint8Array | null> {
    if (this.#buf.byteLength > 0) {
      const out = this.#buf;
      this.#buf = new Uint8Array(0);
      return out;
    }
    if (this.#eof) return null;
    const { done, value } = await this.#read();
    if (done) {
      this.#eof = true;
      return null;
    }
    return value;
  }

  /**
   * Like `next()`, but reads into one buffer owned by this reader instead of a fresh 64 KiB one per
   * read (what a default reader of a Deno byte stream allocates), so bulk forwarding makes no
   * garbage. The chunk returned is valid only until the next call: finish with it (await the write
   * that consumes it) before reading again. Falls back to `next()` on streams that are not byte
   * streams.
   */
  async nextReusing(): Promise<Uint8Array | null> {
    if (this.#buf.byteLength > 0 || this.#eof) return this.next();
    const byob = this.#byobReader();
    if (!byob) return this.next();
    const { done, value } = await byob.read(
      new Uint8Array(this.#scratch ?? new ArrayBuffer(REUSED_READ_BYTES)),
    );
    // Whatever happened, the buffer came back (transferred) with the result, unless the stream errored.
    if (value) this.#scratch = value.buffer as ArrayBuffer;
    if (done) {
      this.#eof = true;
      return null;
    }
    return value;
  }

  /** A chunk the caller may keep: once in BYOB mode, each such read gets a buffer of its own. */
  #read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    if (!this.#byob) return this.#reader.read();
    return this.#byob.read(new Uint8Array(REUSED_READ_BYTES)) as Promise<
      ReadableStreamReadResult<Uint8Array>
    >;
  }

  #byobReader(): ReadableStreamBYOBReader | undefined {
    if (this.#byob || this.#notBytes) return this.#byob;
    this.#reader.releaseLock();
    try {
      this.#byob = this.readable.getReader({ mode: "byob" });
    } catch {
      // Not a byte stream: keep the default reader for good.
      this.#reader = this.readable.getReader();
      this.#notBytes = true;
    }
    return this.#byob;
  }

  /** Stops reading: tells the peer to stop sending (QUIC STOP_SENDING). Never throws. */
  async cancel(reason?: string): Promise<void> {
    await (this.#byob ?? this.#reader).cancel(reason).catch(() => {});
  }
}
