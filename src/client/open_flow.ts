/**
 * Turns one accepted local TCP connection into a flow: OPEN on a new stream, wait for the REPLY,
 * then pump; a refusal closes the local socket and logs the typed reason.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { decodeHeader, encodeHeader, type ErrorCode, ZtnaError } from "../protocol/mod.ts";
import { ChunkReader } from "../transport/chunk_reader.ts";
import type { PeerSession } from "../transport/dial.ts";
import { runTcpFlow } from "../transport/tcp_flow.ts";

/** Outcome of a flow for logs and tests. */
export type FlowOutcome = { ok: true } | { ok: false; code: ErrorCode | "unknown" };

/** Opens a flow for `service` over `session` and runs it; closes `tcp` in every case. */
export async function openFlow(
  tcp: Deno.TcpConn,
  session: PeerSession,
  service: string,
  replyTimeoutMs: number,
  log: Logger,
): Promise<FlowOutcome> {
  let stream: Deno.QuicBidirectionalStream;
  try {
    stream = await session.conn.createBidirectionalStream({ waitUntilAvailable: true });
  } catch {
    tcp.close();
    log.warn("Cannot open a flow to {service}: relay connection lost", { service });
    return { ok: false, code: "no_connector" };
  }
  const reader = new ChunkReader(stream.readable);
  const writer = stream.writable.getWriter();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await writer.write(encodeHeader({ type: "open", service }));
    const reply = await Promise.race([
      reader.readHeader((b) => decodeHeader(b, "reply")),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new ZtnaError("backend_timeout", "no REPLY in time")),
          replyTimeoutMs,
        );
      }),
    ]);
    if (reply.code !== "ok") {
      log.warn("Flow to {service} refused: {code}", { service, code: reply.code });
      tcp.close();
      await writer.close().catch(() => {});
      await reader.cancel(reply.code);
      return { ok: false, code: reply.code };
    }
    writer.releaseLock();
    log.debug("Flow {flowId} to {service} open", { flowId: reply.flowId, service });
    const result = await runTcpFlow(tcp, reader, stream.writable);
    log.debug("Flow {flowId} ended: sent {sent}, received {received}", {
      flowId: reply.flowId,
      ...result,
    });
    return { ok: true };
  } catch (e) {
    const code = e instanceof ZtnaError ? e.code : "flow_reset";
    log.warn("Flow to {service} failed: {code}", { service, code });
    try {
      tcp.close();
    } catch { /* already closed */ }
    await writer.close().catch(() => {});
    await reader.cancel(code);
    return { ok: false, code };
  } finally {
    clearTimeout(timer);
  }
}
