/**
 * UDP at the relay: every datagram is looked up in the receiving connection's own flow table and
 * forwarded unchanged to the one connection on the other side of that flow (flow ids are the same on
 * both legs). Unknown or foreign ids, oversized datagrams and overflowing send queues are dropped and
 * counted; nothing ever routes on addresses inside the payload. Each target connection has one
 * bounded queue, drained with a few sends in flight (see datagram_queue.ts).
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { decodeDatagram } from "../protocol/mod.ts";
import type { RelayMetrics } from "./relay_metrics.ts";
import { LogThrottle } from "./log_throttle.ts";
import { DatagramQueue } from "../transport/mod.ts";
import type { PeerLink } from "../transport/mod.ts";
import type { PeerCounters } from "./peer_counters.ts";

const log = getLogger(["ztna", "relay"]);

/** A connection that can take part in UDP flows. */
export interface DatagramPeer {
  readonly conn: PeerLink;
  /** The connection's id in logs and the admin API. */
  readonly connId: string;
  /** flow id → the connection on the other side. Only this connection's flows are here. */
  readonly udpFlows: Map<number, DatagramPeer>;
  /** Its byte counts (and pending opens), which only its methods change. */
  readonly counters: PeerCounters;
}

/** What forwarding needs. */
export interface DatagramDeps {
  metrics: RelayMetrics;
  /** Bound of each connection's send queue, queued + in flight (limits.datagram_queue_depth). */
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

interface Queued {
  datagram: Uint8Array;
  payloadBytes: number;
}

/** One send queue per target connection, made on its first datagram. */
const queues = new WeakMap<DatagramPeer, DatagramQueue<Queued>>();

/** A flood fills a queue thousands of times a second: one line per connection and 10 s. */
const queueFullLines = new LogThrottle();

function queueFor(to: DatagramPeer, deps: DatagramDeps): DatagramQueue<Queued> {
  let q = queues.get(to);
  if (!q) {
    const { metrics } = deps;
    const queue = new DatagramQueue<Queued>({
      depth: deps.queueDepth,
      send: async (item) => {
        await to.conn.sendDatagram(item.datagram);
        to.counters.toPeer(item.payloadBytes);
        metrics.datagrams.inc("relayed");
      },
      failed: () => metrics.datagramDrops.inc("send_failed"),
    });
    q = queue;
    queues.set(to, q);
  }
  return q;
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
  const queue = queueFor(to, deps);
  if (!queue.offer({ datagram, payloadBytes: d.payload.byteLength })) {
    metrics.datagramDrops.inc("queue_full");
    const connId = to.connId;
    const count = queueFullLines.hit(connId, Date.now());
    if (count > 0) {
      log.warn("Dropped {count} datagram(s) toward {connId}: queue_full ({limit})", {
        count,
        connId,
        limit: `datagram_queue_depth = ${deps.queueDepth}`,
      });
    }
    return;
  }
  from.counters.fromPeer(d.payload.byteLength);
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
