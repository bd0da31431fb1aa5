/**
 * Joins a local TCP connection to a flow stream at an endpoint (client or connector): TCP bytes go out
 * as DATA frames, TCP EOF as END (half-close), a TCP error or a broken stream as an abort; frames from
 * the peer are written back to TCP. See data_frames.ts for why the end of each direction is explicit.
 * @module
 */
import {
  DATA_CHUNK,
  DataFrameParser,
  END_FRAME,
  type ErrorCode,
  FRAME_HEADER,
  type FrameEvent,
  resetFrame,
  sealDataFrame,
} from "../protocol/mod.ts";
import type { ChunkReader } from "./chunk_reader.ts";

/** How one direction of a flow ended. */
export type DirectionEnd = "end" | "reset" | "aborted";

/** What happened to a flow, for logs and metrics. */
export interface TcpFlowResult {
  /** TCP → stream direction. */
  sent: DirectionEnd;
  /** Stream → TCP direction. */
  received: DirectionEnd;
  bytesSent: number;
  bytesReceived: number;
  /** Code of a RESET frame received from the peer, or a protocol problem seen in its frames. */
  peerCode?: ErrorCode | "unknown";
}

/** What a flow needs of its local end: a TCP connection, or the stdin/stdout of `ztna connect`. */
export type ByteConn = Pick<Deno.Conn, "read" | "write" | "close" | "closeWrite">;

async function writeAll(conn: ByteConn, data: Uint8Array): Promise<void> {
  let at = 0;
  while (at < data.byteLength) at += await conn.write(data.subarray(at));
}

/**
 * Runs both directions until each has ended; closes the TCP connection and the stream on return.
 * Never throws: every failure becomes an abort of the whole flow.
 */
export async function runTcpFlow(
  tcp: ByteConn,
  input: ChunkReader,
  output: WritableStream<Uint8Array>,
): Promise<TcpFlowResult> {
  const flow = new TcpFlow(tcp, input, output.getWriter());
  await Promise.all([flow.send(), flow.receive()]);
  flow.closeTcp();
  if (!flow.aborted) await flow.writer.close().catch(() => {});
  return flow.result;
}

/** One flow's two directions and the abort they share. */
class TcpFlow {
  readonly result: TcpFlowResult = {
    sent: "aborted",
    received: "aborted",
    bytesSent: 0,
    bytesReceived: 0,
  };
  aborted = false;
  #tcpClosed = false;

  constructor(
    readonly tcp: ByteConn,
    readonly input: ChunkReader,
    readonly writer: WritableStreamDefaultWriter<Uint8Array>,
  ) {}

  closeTcp(): void {
    if (this.#tcpClosed) return;
    this.#tcpClosed = true;
    try {
      this.tcp.close();
    } catch { /* already closed by the other direction */ }
  }

  abort(code: ErrorCode): void {
    if (this.aborted) return;
    this.aborted = true;
    this.closeTcp();
    void this.input.cancel("flow aborted");
    // Tell the peer this flow is dead; if the stream is gone too, closing is all that is left.
    this.writer.write(resetFrame(code)).catch(() => {});
    this.writer.close().catch(() => {});
  }

  /** TCP → stream: DATA frames, END at TCP EOF. */
  async send(): Promise<void> {
    const { tcp, writer, result } = this;
    // One buffer per flow: each frame is written (awaited) before the next TCP read refills it.
    const buf = new Uint8Array(FRAME_HEADER + DATA_CHUNK);
    while (!this.aborted) {
      let n: number | null;
      try {
        n = await tcp.read(buf.subarray(FRAME_HEADER));
      } catch {
        if (!this.aborted) {
          result.sent = "reset";
          this.abort("flow_reset");
        }
        return;
      }
      if (this.aborted) return;
      try {
        if (n === null) {
          await writer.write(END_FRAME);
          await writer.close();
          result.sent = "end";
          return;
        }
        result.bytesSent += n;
        await writer.write(sealDataFrame(buf, n));
      } catch {
        this.abort("flow_reset");
        return;
      }
    }
  }

  /** Stream → TCP: frames parsed and acted on in order. */
  async receive(): Promise<void> {
    const parser = new DataFrameParser();
    while (!this.aborted) {
      let chunk: Uint8Array | null;
      try {
        // Valid until the next read: every event below is awaited before the loop reads again.
        chunk = await this.input.nextReusing();
      } catch {
        this.abort("flow_reset");
        return;
      }
      if (chunk === null) {
        // A stream that finishes without END was aborted somewhere upstream (see data_frames.ts).
        if (!parser.finished) this.abort("flow_reset");
        return;
      }
      for (const ev of parser.push(chunk)) {
        if (this.aborted || !await this.#onFrame(ev)) return;
      }
    }
  }

  /** Acts on one frame from the peer; false when this direction is over. */
  async #onFrame(ev: FrameEvent): Promise<boolean> {
    const { result } = this;
    switch (ev.kind) {
      case "data":
        try {
          await writeAll(this.tcp, ev.payload);
          result.bytesReceived += ev.payload.byteLength;
        } catch {
          this.abort("flow_reset");
          return false;
        }
        return true;
      case "end":
        result.received = "end";
        try {
          await this.tcp.closeWrite();
        } catch { /* peer already gone: the send side will notice */ }
        return true;
      case "reset":
        result.received = "reset";
        result.peerCode = ev.code;
        this.abort("flow_reset");
        return false;
      case "error":
        result.peerCode = ev.code;
        this.abort(ev.code);
        return false;
    }
  }
}
