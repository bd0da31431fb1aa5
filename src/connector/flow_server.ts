/**
 * Serves one flow the relay opened to this connector: FLOW header, ACCEPT at once (protocol 3: the
 * relay learns this connector is alive before the backend connect), then either a backend TCP
 * dial, REPLY and the TCP ↔ stream pump, or a UDP flow whose stream only marks its lifetime.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { decodeHeader, encodeHeader, type FlowHeader, ZtnaError } from "../protocol/mod.ts";
import type { BackendTable } from "./backend_dialer.ts";
import { resolveBackend } from "./resolve_backend.ts";
import { type UdpBudget, type UdpDrops, UdpFlow } from "./udp_flows.ts";
import { ChunkReader, demuxDatagrams, runTcpFlow } from "../transport/mod.ts";
import type { ConnectorStats } from "./connector_stats.ts";
import type { ByteStream, PeerLink } from "../transport/mod.ts";

/** What serving a flow needs from its relay link. */
export interface FlowServerDeps {
  backends: BackendTable;
  connectTimeoutMs: number;
  log: Logger;
  /** The relay connection the flow arrived on (UDP replies go back on it as datagrams). */
  conn: PeerLink;
  /** This link's UDP flows by flow id. */
  udpFlows: Map<number, UdpFlow>;
  /** Counters for the status endpoint. */
  stats?: ConnectorStats;
  udpBudget: UdpBudget;
  udpDrops: UdpDrops;
  udpQueueDepth: number;
  /** The relay speaks protocol 3: answer each FLOW with ACCEPT before dialing. @default {false} */
  sendAccept?: boolean;
}

/** Handles one incoming stream; never throws. */
export async function serveFlow(
  stream: ByteStream,
  deps: FlowServerDeps,
): Promise<void> {
  const { log } = deps;
  const reader = new ChunkReader(stream.readable);
  const writer = stream.writable.getWriter();
  let flowId = 0;
  try {
    const header = await reader.readHeader((b) => decodeHeader(b, "flow"));
    flowId = header.flowId;
    // Before the backend connect, which may take up to connect_timeout_ms: a relay that hears
    // nothing within its accept deadline takes this connector for dead and tries another.
    if (deps.sendAccept) await writer.write(encodeHeader({ type: "accept", flowId }));
    if (header.protocol === "udp") return await serveUdpFlow(header, reader, writer, deps);
    await serveTcpFlow(header, reader, writer, stream, deps);
  } catch (e) {
    const code = e instanceof ZtnaError ? e.code : "protocol_error";
    log.warn("Closed a malformed flow stream from the relay: {code}", { code, flowId });
    await writer.close().catch(() => {});
    await reader.cancel(code);
  }
}

/** Dials the backend of a TCP flow, answers REPLY and pumps; used for relay and direct flows. */
export async function serveTcpFlow(
  header: Pick<FlowHeader, "flowId" | "service" | "identity">,
  reader: ChunkReader,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  stream: { writable: WritableStream<Uint8Array> },
  deps: Pick<FlowServerDeps, "backends" | "connectTimeoutMs" | "log" | "stats">,
): Promise<void> {
  const { flowId } = header;
  let tcp: Deno.TcpConn;
  try {
    tcp = await deps.backends.dial(header.service, deps.connectTimeoutMs);
  } catch (e) {
    deps.stats?.refused(header.service, e);
    return await refuseFlow(header, writer, reader, e, deps.log);
  }
  tcp.setNoDelay(true);
  await writer.write(encodeHeader({ type: "reply", code: "ok", flowId }));
  writer.releaseLock();
  deps.log.debug("Flow {flowId} for {identity} to {service}", {
    flowId,
    identity: header.identity,
    service: header.service,
  });
  deps.stats?.flowOpened(header.service, "tcp");
  const result = await runTcpFlow(tcp, reader, stream.writable);
  deps.stats?.flowEnded(header.service, "tcp", result.bytesSent, result.bytesReceived);
  deps.log.debug("Flow {flowId} ended: sent {sent}, received {received}", { flowId, ...result });
}

/** Answers a refused flow with its code and closes the stream. */
export async function refuseFlow(
  header: Pick<FlowHeader, "flowId" | "service">,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  reader: ChunkReader,
  e: unknown,
  log: Logger,
): Promise<void> {
  const code = e instanceof ZtnaError ? e.code : "backend_unreachable";
  // Our own errors say which limit or step failed; others (addresses in OS messages) only at debug.
  log.warn("Flow {flowId} to {service} failed: {code} ({why})", {
    flowId: header.flowId,
    service: header.service,
    code,
    why: e instanceof ZtnaError ? e.message : "unexpected error",
  });
  if (!(e instanceof ZtnaError)) {
    log.debug("Flow {flowId} error: {error}", { flowId: header.flowId, error: String(e) });
  }
  await writer.write(encodeHeader({ type: "reply", code, flowId: header.flowId })).catch(() => {});
  await writer.close().catch(() => {});
  await reader.cancel(code);
}

/**
 * Serves a UDP flow whose REPLY this side sends: a per-flow socket toward the service's backend,
 * under the identity's and the connector's caps; used for relay and direct flows. The flow lives
 * until its stream ends or it is idle; `deps.conn` carries its datagrams.
 */
export async function serveUdpFlow(
  header: Pick<FlowHeader, "flowId" | "service" | "identity">,
  reader: ChunkReader,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  deps: FlowServerDeps,
): Promise<void> {
  const { flowId } = header;
  let release: (() => void) | undefined;
  let flow: UdpFlow;
  try {
    if (deps.udpFlows.has(flowId)) {
      throw new ZtnaError("protocol_error", `flow id ${flowId} in use`);
    }
    const backend = await resolveBackend(deps.backends.lookup(header.service, "udp"));
    release = deps.udpBudget.take(header.identity);
    flow = new UdpFlow({
      flowId,
      backend,
      conn: deps.conn,
      queueDepth: deps.udpQueueDepth,
      drops: deps.udpDrops,
      log: deps.log,
    });
  } catch (e) {
    release?.();
    deps.stats?.refused(header.service, e);
    return await refuseFlow(header, writer, reader, e, deps.log);
  }
  deps.udpFlows.set(flowId, flow);
  deps.stats?.flowOpened(header.service, "udp");
  try {
    await writer.write(encodeHeader({ type: "reply", code: "ok", flowId }));
    deps.log.debug("UDP flow {flowId} for {identity} to {service}", {
      flowId,
      identity: header.identity,
      service: header.service,
    });
    // Nothing travels on the stream; its end (relay or peer gone) or idle expiry ends the flow.
    const streamEnd = (async () => {
      while ((await reader.next().catch(() => null)) !== null) { /* ignore stray bytes */ }
    })();
    if (
      (await Promise.race([streamEnd.then(() => "end"), flow.expired.then(() => "idle")])) ===
        "idle"
    ) {
      deps.log.debug("UDP flow {flowId} idle, closing", { flowId });
      await reader.cancel("idle");
    }
  } finally {
    deps.stats?.flowEnded(header.service, "udp", flow.bytesFromBackend, flow.bytesToBackend);
    deps.udpFlows.delete(flowId);
    flow.close();
    release();
    await writer.close().catch(() => {});
    await flow.done;
    deps.log.debug("UDP flow {flowId} closed", { flowId });
  }
}

/** Closes UDP flows idle for `idleMs`: their streams end, which ends them at relay and client. */
export function expireIdleUdpFlows(
  flows: Map<number, UdpFlow>,
  idleMs: number,
  now = Date.now(),
): number {
  let n = 0;
  for (const flow of flows.values()) {
    if (now - flow.lastActivity >= idleMs) {
      flow.expire();
      n++;
    }
  }
  return n;
}

/**
 * Client → backend datagrams of one connection, looked up in its own flow table only, and the
 * sweep of its idle UDP flows; both until the connection closes. Used for relay and direct links.
 */
export async function serveUdpDatagrams(
  deps: Pick<FlowServerDeps, "conn" | "udpFlows" | "udpDrops">,
  idleMs: number,
): Promise<void> {
  const { udpFlows, udpDrops } = deps;
  const sweeper = setInterval(
    () => expireIdleUdpFlows(udpFlows, idleMs),
    Math.max(100, Math.min(5_000, idleMs / 4)),
  );
  try {
    await demuxDatagrams(
      deps.conn,
      (flowId) => {
        const flow = udpFlows.get(flowId);
        return flow && ((payload) => flow.toBackend(payload));
      },
      (reason) => udpDrops.inc(reason),
    );
  } finally {
    clearInterval(sweeper);
  }
}
