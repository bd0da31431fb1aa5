/**
 * The client's half of opening a flow: a new stream, OPEN, and the relay's REPLY within a deadline.
 * Shared by TCP and UDP forwards.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { decodeHeader, encodeHeader, type ErrorCode, ZtnaError } from "../protocol/mod.ts";
import { ChunkReader } from "../transport/mod.ts";
import type { StreamLease, StreamSource } from "./stream_lease.ts";
import type { ByteStream, PeerLink } from "../transport/mod.ts";

/** An open flow's stream halves and its relay-assigned id. */
export interface OpenedFlow {
  flowId: number;
  reader: ChunkReader;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  stream: ByteStream;
  /** The connection carrying the flow (its datagrams too, for UDP). */
  conn: PeerLink;
  /** Frees the flow's place on its connection when the flow ends; idempotent. */
  release(): void;
}

/** Result of {@link requestFlow}. */
export type FlowRequest = { ok: true; flow: OpenedFlow } | {
  ok: false;
  code: ErrorCode | "unknown";
  /**
   * The connection failed before any REPLY (e.g. its relay vanished): nothing was forwarded, so
   * the flow may be tried again on the next connection.
   */
  lost?: true;
};

/** Flows of a connection waiting for a free stream. */
const waiting = new WeakMap<PeerLink, number>();

/**
 * A new stream on `conn` alone (a direct path, or a raw session in tests). When the peer's stream
 * credit is used up, waits for a free stream, and says so in the log when the first flow starts
 * waiting. Relay sessions of the client use their {@link StreamSource} instead, which opens further
 * connections first.
 */
async function openStreamOn(
  conn: PeerLink,
  service: string,
  log: Logger | undefined,
): Promise<StreamLease> {
  const lease = (stream: ByteStream) => ({ stream, conn, release: () => {} });
  try {
    return lease(await conn.createBidirectionalStream());
  } catch (e) {
    // Deno 2.9.6 throws RangeError when the peer allows no more concurrent streams.
    if (!(e instanceof RangeError)) throw e;
  }
  const n = (waiting.get(conn) ?? 0) + 1;
  waiting.set(conn, n);
  if (n === 1) {
    log?.warn(
      "Flow to {service} waits for a free stream: the peer allows no more on this connection (max_streams_per_connection)",
      { service },
    );
  }
  try {
    return lease(await conn.createBidirectionalStream({ waitUntilAvailable: true }));
  } finally {
    waiting.set(conn, (waiting.get(conn) ?? 1) - 1);
  }
}

/**
 * Opens a flow for `service`; never throws. A refused flow's stream is already closed. `log` hears
 * when the flow has to wait for a free stream.
 */
export async function requestFlow(
  session: { conn: PeerLink; streams?: StreamSource },
  service: string,
  protocol: "tcp" | "udp",
  replyTimeoutMs: number,
  log?: Logger,
): Promise<FlowRequest> {
  let lease: StreamLease;
  try {
    lease = session.streams
      ? await session.streams.openStream(service, log, protocol)
      : await openStreamOn(session.conn, service, log);
  } catch {
    return { ok: false, code: "no_connector", lost: true };
  }
  const { stream, conn, release } = lease;
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
      return { ok: true, flow: { flowId: reply.flowId, reader, writer, stream, conn, release } };
    }
    await closeFlowStream({ reader, writer, release }, reply.code);
    return { ok: false, code: reply.code };
  } catch (e) {
    const code = e instanceof ZtnaError ? e.code : "flow_reset";
    await closeFlowStream({ reader, writer, release }, code);
    return e instanceof ZtnaError ? { ok: false, code } : { ok: false, code, lost: true };
  } finally {
    clearTimeout(timer);
  }
}

/** Closes both halves of a flow stream and frees its place on its connection; never throws. */
export async function closeFlowStream(
  flow: {
    reader: ChunkReader;
    writer: WritableStreamDefaultWriter<Uint8Array>;
    release?: () => void;
  },
  reason: string,
): Promise<void> {
  flow.release?.();
  await flow.writer.close().catch(() => {});
  await flow.reader.cancel(reason);
}
