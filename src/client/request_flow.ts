/**
 * The client's half of opening a flow: a new stream, OPEN, and the relay's REPLY within a deadline.
 * Shared by TCP and UDP forwards.
 * @module
 */
import { decodeHeader, encodeHeader, type ErrorCode, ZtnaError } from "../protocol/mod.ts";
import { ChunkReader } from "../transport/chunk_reader.ts";

/** An open flow's stream halves and its relay-assigned id. */
export interface OpenedFlow {
  flowId: number;
  reader: ChunkReader;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  stream: Deno.QuicBidirectionalStream;
}

/** Result of {@link requestFlow}. */
export type FlowRequest = { ok: true; flow: OpenedFlow } | {
  ok: false;
  code: ErrorCode | "unknown";
};

/** Opens a flow for `service`; never throws. A refused flow's stream is already closed. */
export async function requestFlow(
  session: { conn: Deno.QuicConn },
  service: string,
  protocol: "tcp" | "udp",
  replyTimeoutMs: number,
): Promise<FlowRequest> {
  let stream: Deno.QuicBidirectionalStream;
  try {
    stream = await session.conn.createBidirectionalStream({ waitUntilAvailable: true });
  } catch {
    return { ok: false, code: "no_connector" };
  }
  const reader = new ChunkReader(stream.readable);
  const writer = stream.writable.getWriter();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await writer.write(
      encodeHeader(
        protocol === "udp" ? { type: "open", service, protocol } : { type: "open", service },
      ),
    );
    const reply = await Promise.race([
      reader.readHeader((b) => decodeHeader(b, "reply")),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new ZtnaError("backend_timeout", "no REPLY in time")),
          replyTimeoutMs,
        );
      }),
    ]);
    if (reply.code === "ok") {
      return { ok: true, flow: { flowId: reply.flowId, reader, writer, stream } };
    }
    await closeFlowStream({ reader, writer }, reply.code);
    return { ok: false, code: reply.code };
  } catch (e) {
    const code = e instanceof ZtnaError ? e.code : "flow_reset";
    await closeFlowStream({ reader, writer }, code);
    return { ok: false, code };
  } finally {
    clearTimeout(timer);
  }
}

/** Closes both halves of a flow stream; never throws. */
export async function closeFlowStream(
  flow: { reader: ChunkReader; writer: WritableStreamDefaultWriter<Uint8Array> },
  reason: string,
): Promise<void> {
  await flow.writer.close().catch(() => {});
  await flow.reader.cancel(reason);
}
