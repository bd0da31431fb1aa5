/**
 * Serves one flow the relay opened to this connector: FLOW header, backend dial, REPLY, then the
 * TCP ↔ stream pump.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { decodeHeader, encodeHeader, ZtnaError } from "../protocol/mod.ts";
import { ChunkReader } from "../transport/chunk_reader.ts";
import { runTcpFlow } from "../transport/tcp_flow.ts";
import type { BackendTable } from "./backend_dialer.ts";

/** Handles one incoming stream; never throws. */
export async function serveFlow(
  stream: Deno.QuicBidirectionalStream,
  backends: BackendTable,
  connectTimeoutMs: number,
  log: Logger,
): Promise<void> {
  const reader = new ChunkReader(stream.readable);
  const writer = stream.writable.getWriter();
  let flowId = 0;
  try {
    const header = await reader.readHeader((b) => decodeHeader(b, "flow"));
    flowId = header.flowId;
    let tcp: Deno.TcpConn;
    try {
      tcp = await backends.dial(header.service, connectTimeoutMs);
    } catch (e) {
      const code = e instanceof ZtnaError ? e.code : "backend_unreachable";
      log.warn("Flow {flowId} to {service} failed: {code}", {
        flowId,
        service: header.service,
        code,
      });
      await writer.write(encodeHeader({ type: "reply", code, flowId })).catch(() => {});
      await writer.close().catch(() => {});
      await reader.cancel(code);
      return;
    }
    tcp.setNoDelay(true);
    await writer.write(encodeHeader({ type: "reply", code: "ok", flowId }));
    writer.releaseLock();
    log.debug("Flow {flowId} for {identity} to {service}", {
      flowId,
      identity: header.identity,
      service: header.service,
    });
    const result = await runTcpFlow(tcp, reader, stream.writable);
    log.debug("Flow {flowId} ended: sent {sent}, received {received}", { flowId, ...result });
  } catch (e) {
    const code = e instanceof ZtnaError ? e.code : "protocol_error";
    log.warn("Closed a malformed flow stream from the relay: {code}", { code, flowId });
    await writer.close().catch(() => {});
    await reader.cancel(code);
  }
}
