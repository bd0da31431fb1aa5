/**
 * The control stream as a channel of validated messages: framed JSON in, framed JSON out.
 * @module
 */
import {
  type ControlMessage,
  type ControlMessageInput,
  decodeFrame,
  decodeMessage,
  encodeFrame,
  encodeMessage,
  ZtnaError,
} from "../protocol/mod.ts";
import { ChunkReader } from "./chunk_reader.ts";

/** One control stream; `send` calls are serialised by the stream's writer queue. */
export class ControlChannel {
  readonly #reader: ChunkReader;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;

  constructor(
    stream: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
  ) {
    this.#reader = new ChunkReader(stream.readable);
    this.#writer = stream.writable.getWriter();
  }

  /** Sends one message. @throws when the stream or connection is gone. */
  async send(msg: ControlMessageInput): Promise<void> {
    await this.#writer.write(encodeFrame(encodeMessage(msg)));
  }

  /**
   * Waits for the next message; null when the peer closed the stream cleanly.
   * @throws {ZtnaError} frame_too_large or protocol_error on malformed input.
   */
  async next(): Promise<ControlMessage | null> {
    while (true) {
      const d = decodeFrame(this.#reader.buffered);
      if (d.kind === "error") throw new ZtnaError(d.code, "malformed control frame");
      if (d.kind === "message") {
        const body = d.body;
        this.#reader.consume(d.used);
        const m = decodeMessage(body);
        if (!m.ok) throw new ZtnaError(m.code, m.why);
        return m.msg;
      }
      if (!(await this.#reader.fill())) {
        if (this.#reader.buffered.byteLength > 0) {
          throw new ZtnaError("protocol_error", "control stream ended inside a frame");
        }
        return null;
      }
    }
  }

  /** Closes our side; never throws. */
  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    await this.#reader.cancel();
  }
}
