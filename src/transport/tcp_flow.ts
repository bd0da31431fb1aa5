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
  const writer = output.getWriter();
  const result: TcpFlowResult = {
    sent: "aborted",
    received: "aborted",
    bytesSent: 0,
    bytesReceived: 0,
  };
  let aborted = false;
  let tcpClosed = false;
  const closeTcp = () => {
    if (tcpClosed) return;
    tcpClosed = true;
    try {
      tcp.close();
    } catch { /* already closed by the other direction */ }
  };
  const abort = (code: ErrorCode) => {
    if (aborted) return;
    aborted = true;
    closeTcp();
    void input.cancel("flow aborted");
    // Tell the peer this flow is dead; if the stream is gone too, closing is all that is left.
    writer.write(resetFrame(code)).catch(() => {});
    writer.close().catch(() => {});
  };

  const send = async () => {
    // One buffer per flow: each frame is written (awaited) before the next TCP read refills it.
    const buf = new Uint8Array(FRAME_HEADER + DATA_CHUNK);
    while (!aborted) {
      let n: number | null;
      try {
        n = await tcp.read(buf.subarray(FRAME_HEADER));
      } catch {
        if (!aborted) {
          result.sent = "reset";
          abort("flow_reset");
        }
        return;
      }
      if (aborted) return;
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
        abort("flow_reset");
        return;
      }
    }
  };

  const receive = async () => {
    const parser = new DataFrameParser();
    while (!aborted) {
      let chunk: Uint8Array | null;
      try {
        // Valid until the next read: every event below is awaited before the loop reads again.
        chunk = await input.nextReusing();
      } catch {
        abort("flow_reset");
        return;
      }
      if (chunk === null) {
        // A stream that finishes without END was aborted somewhere upstream (see data_frames.ts).
        if (!parser.finished) abort("flow_reset");
        return;
      }
      for (const ev of parser.push(chunk)) {
        if (aborted) return;
        switch (ev.kind) {
          case "data":
            try {
              await writeAll(tcp, ev.payload);
              result.bytesReceived += ev.payload.byteLength;
            } catch {
              abort("flow_reset");
              return;
            }
            break;
          case "end":
            result.received = "end";
            try {
              await tcp.closeWrite();
            } catch { /* peer already gone: the send side will notice */ }
            break;
          case "reset":
            result.received = "reset";
            result.peerCode = ev.code;
            abort("flow_reset");
            return;
          case "error":
            result.peerCode = ev.code;
            abort(ev.code);
            return;
        }
      }
    }
  };

  await Promise.all([send(), receive()]);
  closeTcp();
  if (!aborted) await writer.close().catch(() => {});
  return result;
}
