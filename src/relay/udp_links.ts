/**
 * UDP at the relay: every datagram is looked up in the receiving connection's own flow table and
 * forwarded unchanged to the one connection on the other side of that flow (flow ids are the same on
 * both legs). Unknown or foreign ids, oversized datagrams and overflowing send queues are dropped and
 * counted; nothing ever routes on addresses inside the payload.
 * @module
 */
import { decodeDatagram } from "../protocol/mod.ts";
import type { RelayMetrics } from "./relay_metrics.ts";

/** A connection that can take part in UDP flows. */
export interface DatagramPeer {
  readonly conn: Deno.QuicConn;
  /** flow id → the connection on the other side. Only this connection's flows are here. */
  readonly udpFlows: Map<number, DatagramPeer>;
  /** Datagrams handed to QUIC and not yet sent. */
  pendingDatagrams: number;
  bytesFromPeer: number;
  bytesToPeer: number;
}

/** What forwarding needs. */
export interface DatagramDeps {
  metrics: RelayMetrics;
  /** Bound of each connection's send queue (limits.datagram_queue_depth). */
  queueDepth: number;
}

/** Joins both legs of a UDP flow; returns the function that parts them again. */
export function linkUdpFlow(
  flowId: number,
  client: DatagramPeer,
  connector: DatagramPeer,
): () => void {
  client.udpFlows.set(flowId, connector);
  connector.udpFlows.set(flowId, client);
  return () => {
    if (client.udpFlows.get(flowId) === connector) client.udpFlows.delete(flowId);
    if (connector.udpFlows.get(flowId) === client) connector.udpFlows.delete(flowId);
  };
}

/** Forwards one datagram received from `from`; never throws, never waits. */
export function forwardDatagram(
  from: DatagramPeer,
  datagram: Uint8Array,
  deps: DatagramDeps,
): void {
  const { metrics } = deps;
  const d = decodeDatagram(datagram);
  if (!d) return metrics.datagramDrops.inc("malformed");
  const to = from.udpFlows.get(d.flowId);
  if (!to) return metrics.datagramDrops.inc("unknown_flow");
  if (datagram.byteLength > to.conn.maxDatagramSize) return metrics.datagramDrops.inc("oversize");
  // Drop-newest when the target's queue is full: what is queued is older and already paid for.
  if (to.pendingDatagrams >= deps.queueDepth) return metrics.datagramDrops.inc("queue_full");
  to.pendingDatagrams++;
  from.bytesFromPeer += d.payload.byteLength;
  to.conn.sendDatagram(datagram).then(
    () => {
      to.bytesToPeer += d.payload.byteLength;
      metrics.datagrams.inc("relayed");
    },
    () => metrics.datagramDrops.inc("send_failed"),
  ).finally(() => to.pendingDatagrams--);
}

/**
 * Reads every datagram of `peer` until its connection ends. Before `authenticated()` says yes they
 * are dropped and counted, never processed.
 */
export async function pumpDatagrams(
  peer: DatagramPeer,
  authenticated: () => boolean,
  deps: DatagramDeps,
): Promise<void> {
  while (true) {
    let datagram: Uint8Array;
    try {
      datagram = await peer.conn.readDatagram();
    } catch {
      return; // connection closed
    }
    if (!authenticated()) deps.metrics.datagramDrops.inc("before_hello");
    else forwardDatagram(peer, datagram, deps);
  }
}
