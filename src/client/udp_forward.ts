/**
 * A local UDP port forwarded to a service: each local source address becomes one flow (opened on a
 * stream, carried in datagrams tagged with the relay's flow id), and replies go back only to the
 * source of that flow. A new flow opens on the service's direct path when one is up, on the relay
 * otherwise; it stays on that connection for its life. Flows end when idle or when their stream
 * ends (relay or connector ended it, or its connection — e.g. a direct path — was lost); the next
 * datagram from the same source then opens a fresh flow. Each flow has one
 * bounded send queue per direction, drained with a few sends in flight (see datagram_queue.ts); the
 * local socket is read into one reused buffer (Deno would allocate 64 KiB per datagram otherwise).
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { encodeDatagram, maxPayload } from "../protocol/mod.ts";
import { closeFlowStream, type OpenedFlow, requestFlow } from "./request_flow.ts";
import { clientStats } from "./stats.ts";
import { limitBackoff, noteRateLimited } from "./open_flow.ts";
import type { SessionHolder } from "./session_holder.ts";
import { DatagramQueue, demuxDatagrams } from "../transport/mod.ts";
import type { PeerLink } from "../transport/mod.ts";

/**
 * What a forward needs of its local UDP socket: a real one, or one service's share of a SOCKS5
 * UDP association (socks_udp.ts).
 */
export type LocalDatagrams = Pick<Deno.DatagramConn, "receive" | "send" | "close">;

/** Settings of a UDP forward. */
export interface UdpForwardOptions {
  service: string;
  idleMs: number;
  maxFlows: number;
  queueDepth: number;
  sessionWaitMs: number;
  replyTimeoutMs: number;
  /** The live direct connection for a service, if any (direct paths). */
  direct?: (service: string) => PeerLink | undefined;
  log: Logger;
}

/** Drop counters of the client's UDP path, by reason. */
export type UdpDropCounts = Map<string, number>;

interface LocalFlow {
  source: Deno.NetAddr;
  lastActivity: number;
  /** Datagrams held while the flow is being opened (bounded by queueDepth). */
  waiting: Uint8Array[];
  /** Local datagrams toward the flow's connection (relay or direct), encoded; made when it opens. */
  toPeer?: DatagramQueue<Uint8Array>;
  /** Replies toward the local source. */
  toLocal: DatagramQueue<Uint8Array>;
  /** The open flow; its `conn` (relay or direct) carries its datagrams. */
  opened?: OpenedFlow;
  /** The path it opened on, for the status endpoint. */
  path?: "relay" | "direct";
  /** Payload bytes sent toward the service and received from it (status endpoint). */
  sent: number;
  received: number;
  closed: boolean;
}

/** Per-connection demultiplexer: relay datagrams → the local flow of their flow id. */
class DatagramRouter {
  readonly flows = new Map<number, (payload: Uint8Array) => void>();
  constructor(conn: PeerLink, drops: UdpDropCounts) {
    void demuxDatagrams(
      conn,
      (flowId) => this.flows.get(flowId),
      (reason) => drops.set(reason, (drops.get(reason) ?? 0) + 1),
    );
  }
}

const routers = new WeakMap<PeerLink, DatagramRouter>();

function routerFor(conn: PeerLink, drops: UdpDropCounts): DatagramRouter {
  let r = routers.get(conn);
  if (!r) {
    r = new DatagramRouter(conn, drops);
    routers.set(conn, r);
  }
  return r;
}

/** Largest UDP payload (IPv4: 65,535 − 8 − 20): the reused receive buffer never truncates. */
const MAX_UDP_PAYLOAD = 65_507;

/** Serves one local UDP socket until it is closed. */
export class UdpForward {
  readonly drops: UdpDropCounts = new Map();
  readonly #flows = new Map<string, LocalFlow>();
  readonly #sweeper: ReturnType<typeof setInterval>;

  constructor(
    readonly socket: LocalDatagrams,
    readonly holder: SessionHolder,
    readonly options: UdpForwardOptions,
  ) {
    const every = Math.max(100, Math.min(5_000, options.idleMs / 4));
    this.#sweeper = setInterval(() => this.#expire(), every);
  }

  /** Open flows (for tests and logs). */
  get size(): number {
    return this.#flows.size;
  }

  #drop(reason: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    clientStats.datagramDropped(this.options.service, reason);
  }

  /** Receives local datagrams until the socket closes. */
  async run(): Promise<void> {
    // One buffer for every receive: what must outlive the next one is copied (encodeDatagram copies).
    const buffer = new Uint8Array(MAX_UDP_PAYLOAD + 1);
    try {
      while (true) {
        let data: Uint8Array;
        let from: Deno.Addr;
        try {
          [data, from] = await this.socket.receive(buffer);
        } catch {
          return;
        }
        this.#fromLocal(data, from as Deno.NetAddr);
      }
    } finally {
      clearInterval(this.#sweeper);
      for (const flow of this.#flows.values()) this.#close(flow, "forward closed");
      if (this.drops.size > 0) {
        this.options.log.info("UDP drops at this client for {service}: {drops}", {
          service: this.options.service,
          drops: Object.fromEntries(this.drops),
        });
      }
    }
  }

  #fromLocal(data: Uint8Array, source: Deno.NetAddr): void {
    const key = `${source.hostname}|${source.port}`;
    let flow = this.#flows.get(key);
    if (!flow) {
      if (this.#flows.size >= this.options.maxFlows) return this.#drop("flow_limit");
      const to = source;
      flow = {
        source,
        lastActivity: Date.now(),
        waiting: [],
        toLocal: new DatagramQueue({
          depth: this.options.queueDepth,
          send: (payload) => this.socket.send(payload, to),
          failed: () => this.#drop("send_failed"),
        }),
        sent: 0,
        received: 0,
        closed: false,
      };
      this.#flows.set(key, flow);
      void this.#open(key, flow);
    }
    flow.lastActivity = Date.now();
    if (!flow.opened) {
      // Drop-newest while opening: the first datagrams (e.g. a handshake) matter most.
      if (flow.waiting.length >= this.options.queueDepth) return this.#drop("queue_full");
      flow.waiting.push(data.slice()); // the receive buffer is reused
      return;
    }
    this.#toPeer(flow, data);
  }

  #toPeer(flow: LocalFlow, data: Uint8Array): void {
    const opened = flow.opened!;
    const limit = maxPayload(opened.conn.maxDatagramSize);
    if (data.byteLength > limit) {
      this.#drop("oversize");
      this.options.log.debug("Dropped a {size}-byte datagram to {service}: path allows {limit}", {
        size: data.byteLength,
        service: this.options.service,
        limit,
      });
      return;
    }
    const queue = flow.toPeer!;
    if (queue.full) return this.#drop("queue_full");
    flow.sent += data.byteLength;
    queue.offer(encodeDatagram(opened.flowId, data));
  }

  #toLocal(flow: LocalFlow, payload: Uint8Array): void {
    if (flow.closed) return;
    flow.lastActivity = Date.now();
    if (!flow.toLocal.offer(payload)) return this.#drop("queue_full");
    flow.received += payload.byteLength;
  }

  async #open(key: string, flow: LocalFlow): Promise<void> {
    const { service, log } = this.options;
    const session = await this.holder.wait(this.options.sessionWaitMs);
    if (!session) {
      log.warn("Dropped a local UDP flow for {service}: no relay connection", { service });
      clientStats.dropped(service, "no_relay");
      this.#flows.delete(key);
      return;
    }
    // A live direct path carries the flow. If it is gone by the time the stream opens, or its
    // connector refuses (e.g. a build whose direct paths carry TCP only), the relay does.
    const direct = this.options.direct?.(service);
    let path: "direct" | "relay" = direct ? "direct" : "relay";
    let req = await requestFlow(
      direct ? { conn: direct } : session,
      service,
      "udp",
      this.options.replyTimeoutMs,
      log,
    );
    if (direct && !req.ok) {
      log.debug("UDP flow to {service} not opened on the direct path ({code}); using the relay", {
        service,
        code: req.code,
      });
      path = "relay";
      req = await requestFlow(session, service, "udp", this.options.replyTimeoutMs, log);
    }
    // The relay's flow-open rate refused it: nothing was sent yet (the datagrams wait, bounded), so
    // try again with backoff within the same wait as for a relay connection.
    const waitUntil = Date.now() + this.options.sessionWaitMs;
    for (let n = 0; !req.ok && req.code === "limit_exceeded" && !flow.closed; n++) {
      const delay = limitBackoff(n);
      if (Date.now() + delay >= waitUntil) break;
      noteRateLimited(service, this.options.sessionWaitMs, log);
      await new Promise((r) => setTimeout(r, delay));
      path = "relay";
      req = await requestFlow(session, service, "udp", this.options.replyTimeoutMs, log);
    }
    if (!req.ok) {
      log.warn("Flow to {service} refused: {code}", { service, code: req.code });
      clientStats.dropped(service, req.code);
      this.#flows.delete(key);
      return;
    }
    if (flow.closed) return void closeFlowStream(req.flow, "closed");
    const conn = req.flow.conn;
    flow.opened = req.flow;
    flow.path = path;
    clientStats.flowOpened(service, path, "udp");
    flow.toPeer = new DatagramQueue({
      depth: this.options.queueDepth,
      send: (datagram) => conn.sendDatagram(datagram),
      failed: () => this.#drop("send_failed"),
    });
    const router = routerFor(conn, this.drops);
    router.flows.set(req.flow.flowId, (payload) => this.#toLocal(flow, payload));
    log.debug("UDP flow {flowId} to {service} open via {path}", {
      flowId: req.flow.flowId,
      service,
      path,
    });
    for (const d of flow.waiting.splice(0)) this.#toPeer(flow, d);
    // The stream carries nothing; its end means the relay or connector ended the flow.
    while ((await req.flow.reader.next().catch(() => null)) !== null) { /* ignore */ }
    router.flows.delete(req.flow.flowId);
    this.#close(flow, "ended by peer");
    if (this.#flows.get(key) === flow) this.#flows.delete(key);
  }

  #close(flow: LocalFlow, reason: string): void {
    if (flow.closed) return;
    flow.closed = true;
    if (flow.opened && flow.path) {
      clientStats.flowEnded(this.options.service, flow.path, flow.sent, flow.received, "udp");
    }
    flow.toPeer?.close();
    flow.toLocal.close();
    if (flow.opened) void closeFlowStream(flow.opened, reason);
  }

  #expire(): void {
    const now = Date.now();
    for (const [key, flow] of this.#flows) {
      if (now - flow.lastActivity >= this.options.idleMs) {
        this.options.log.debug("UDP flow to {service} idle, closing", {
          service: this.options.service,
        });
        this.#close(flow, "idle");
        this.#flows.delete(key);
      }
    }
  }
}
