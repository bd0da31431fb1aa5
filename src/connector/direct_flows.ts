/**
 * The connector's serving of direct-path flows: what the P2P listener (p2p/direct_listener.ts) hands
 * each accepted connection's flows to — the same allow-list, backend dial, per-flow UDP sockets,
 * caps and idle expiry as relayed flows (flow_server.ts), with the datagrams on the direct
 * connection.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { ZtnaError } from "../protocol/mod.ts";
import type { DirectConnFlows, DirectFlow, DirectFlowStream } from "../p2p/mod.ts";
import type { BackendTable } from "./backend_dialer.ts";
import type { ConnectorStats } from "./connector_stats.ts";
import {
  type FlowServerDeps,
  refuseFlow,
  serveTcpFlow,
  serveUdpDatagrams,
  serveUdpFlow,
} from "./flow_server.ts";
import type { UdpBudget, UdpDrops, UdpFlow } from "./udp_flows.ts";

/** What serving direct flows needs: the connector's backends and UDP settings. */
export interface DirectFlowsOptions {
  backends: BackendTable;
  connectTimeoutMs: number;
  /** UDP settings shared with relayed flows; without them direct paths refuse UDP flows. */
  udp?: {
    budget: UdpBudget;
    drops: UdpDrops;
    queueDepth: number;
    idleMs: number;
  };
  /** Counters for the status endpoint. */
  stats?: ConnectorStats;
  log: Logger;
}

/** The flow serving of one accepted direct connection, for `DirectListenerOptions.flows`. */
export function directConnFlows(
  options: DirectFlowsOptions,
): (conn: Deno.QuicConn) => DirectConnFlows {
  return (conn) => {
    const udp = udpDeps(conn, options);
    return {
      serve: (flow, io) => serveDirectFlow(flow, io, options, udp),
      refuse: (flow, io, code) =>
        refuseFlow(flow, io.writer, io.reader, new ZtnaError(code, code), options.log),
      datagrams: async () => {
        if (udp) await serveUdpDatagrams(udp, options.udp!.idleMs);
      },
    };
  };
}

/** One flow of a direct path, its service the ticket's: a TCP dial, or a UDP flow when allowed. */
async function serveDirectFlow(
  flow: DirectFlow,
  { reader, writer, stream }: DirectFlowStream,
  options: DirectFlowsOptions,
  udp: FlowServerDeps | undefined,
): Promise<void> {
  // UDP flows need the connector's UDP settings.
  if (flow.protocol === "udp" && !udp) {
    const code = "unknown_service";
    return await refuseFlow(flow, writer, reader, new ZtnaError(code, code), options.log);
  }
  if (flow.protocol === "udp") return await serveUdpFlow(flow, reader, writer, udp!);
  await serveTcpFlow(flow, reader, writer, stream, options);
}

/** What serving UDP flows on `conn` needs; undefined when UDP is not configured. */
function udpDeps(conn: Deno.QuicConn, options: DirectFlowsOptions): FlowServerDeps | undefined {
  const { udp, backends, connectTimeoutMs, log } = options;
  if (!udp) return undefined;
  return {
    backends,
    connectTimeoutMs,
    log,
    conn,
    udpFlows: new Map<number, UdpFlow>(),
    udpBudget: udp.budget,
    udpDrops: udp.drops,
    udpQueueDepth: udp.queueDepth,
    stats: options.stats,
  };
}
