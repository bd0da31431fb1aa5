/**
 * Turns one accepted local TCP connection into a flow: OPEN, REPLY, then the pump; a refusal closes
 * the local socket and logs the typed reason.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ErrorCode } from "../protocol/mod.ts";
import { requestFlow } from "./request_flow.ts";
import { type RelaySession, runTcpFlow } from "../transport/mod.ts";

/** Outcome of a flow for logs and tests. */
export type FlowOutcome = { ok: true } | { ok: false; code: ErrorCode | "unknown" };

/** Opens a flow for `service` over `session` and runs it; closes `tcp` in every case. */
export async function openFlow(
  tcp: Deno.TcpConn,
  session: RelaySession,
  service: string,
  replyTimeoutMs: number,
  log: Logger,
  direct?: Deno.QuicConn,
): Promise<FlowOutcome> {
  // A live direct path carries the flow; if it breaks while opening, the relay does.
  let path: "direct" | "relay" = direct ? "direct" : "relay";
  let req = direct
    ? await requestFlow({ conn: direct }, service, "tcp", replyTimeoutMs, log)
    : undefined;
  if (!req || (!req.ok && req.code === "no_connector")) {
    path = "relay";
    req = await requestFlow(session, service, "tcp", replyTimeoutMs, log);
  }
  if (!req.ok) {
    log.warn("Flow to {service} refused: {code}", { service, code: req.code });
    try {
      tcp.close();
    } catch { /* already closed */ }
    return req;
  }
  const { flowId, reader, writer, stream } = req.flow;
  writer.releaseLock();
  log.debug("Flow {flowId} to {service} open via {path}", { flowId, service, path });
  const result = await runTcpFlow(tcp, reader, stream.writable);
  log.debug("Flow {flowId} ended: sent {sent}, received {received}", { flowId, ...result });
  return { ok: true };
}
