/**
 * UDP flows at the connector: one UDP socket per flow, used only with that service's configured
 * backend, so every reply maps to exactly one flow (the MVP sent replies to "the first flow").
 * Datagrams from any other source are dropped. Flows end on idle timeout or when the relay closes
 * the flow's stream; caps hold per client identity and in total. Each direction of a flow has one
 * bounded send queue drained with a few sends in flight (see datagram_queue.ts), and the socket is
 * read into one reused buffer.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { encodeDatagram, maxPayload, ZtnaError } from "../protocol/mod.ts";
import type { Backend } from "./backend_dialer.ts";
import { DatagramQueue } from "../transport/mod.ts";
import type { PeerLink } from "../transport/mod.ts";

/** Largest UDP payload (IPv4: 65,535 − 8 − 20): the reused receive buffer never truncates. */
const MAX_UDP_PAYLOAD = 65_507;

/** Drop counters of the connector's UDP path, by reason (logged; the relay exports its own). */
export class UdpDrops {
  readonly counts = new Map<string, number>();
  inc(reason: string): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
  }
}

/** Limits shared by every relay link of one connector. */
export class UdpBudget {
  #total = 0;
  readonly #perIdentity = new Map<string, number>();
  constructor(readonly maxFlows: number, readonly maxPerIdentity: number) {}

  /** Takes a slot for `identity`. @throws {ZtnaError} limit_exceeded */
  take(identity: string): () => void {
    const n = this.#perIdentity.get(identity) ?? 0;
    if (this.#total >= this.maxFlows) {
      throw new ZtnaError("limit_exceeded", `max_udp_flows = ${this.maxFlows} reached`);
    }
    if (n >= this.maxPerIdentity) {
      throw new ZtnaError(
        "limit_exceeded",
        `max_udp_flows_per_identity = ${this.maxPerIdentity} reached for "${identity}"`,
      );
    }
    this.#total++;
    this.#perIdentity.set(identity, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = (this.#perIdentity.get(identity) ?? 1) - 1;
      if (left <= 0) this.#perIdentity.delete(identity);
      else this.#perIdentity.set(identity, left);
    };
  }
}

/** Settings of one flow. */
export interface UdpFlowOptions {
  flowId: number;
  backend: Backend;
  conn: PeerLink;
  queueDepth: number;
  drops: UdpDrops;
  log: Logger;
}

/** One UDP flow: a socket bound for this flow alone. */
export class UdpFlow {
  lastActivity = Date.now();
  /** Payload bytes sent to the backend (counted when the send succeeded). */
  bytesToBackend = 0;
  /** Payload bytes from the backend sent on toward the client. */
  bytesFromBackend = 0;
  #closed = false;
  readonly #toBackend: DatagramQueue<Uint8Array>;
  readonly #toClient: DatagramQueue<{ datagram: Uint8Array; payloadBytes: number }>;
  readonly #socket: Deno.DatagramConn;
  readonly #target: Deno.NetAddr;
  readonly done: Promise<void>;
  /** Resolves when the flow was idle too long; its owner then ends the flow's stream. */
  readonly expired: Promise<void>;
  #expire: () => void = () => {};

  constructor(readonly options: UdpFlowOptions) {
    this.expired = new Promise((resolve) => this.#expire = resolve);
    const { backend } = options;
    const v6 = backend.hostname.includes(":");
    const loopback = backend.hostname === "localhost" || backend.hostname.startsWith("127.") ||
      backend.hostname === "::1";
    // Bind on the backend's side only: loopback backends get a loopback socket.
    this.#socket = Deno.listenDatagram({
      hostname: loopback ? (v6 ? "::1" : "127.0.0.1") : (v6 ? "::" : "0.0.0.0"),
      port: 0,
      transport: "udp",
    });
    const target: Deno.NetAddr = {
      transport: "udp",
      hostname: backend.hostname,
      port: backend.port,
    };
    this.#target = target;
    const failed = () => options.drops.inc("send_failed");
    this.#toBackend = new DatagramQueue({
      depth: options.queueDepth,
      send: async (payload) => {
        await this.#socket.send(payload, target);
        this.bytesToBackend += payload.byteLength;
      },
      failed,
    });
    this.#toClient = new DatagramQueue({
      depth: options.queueDepth,
      send: async (item) => {
        await options.conn.sendDatagram(item.datagram);
        this.bytesFromBackend += item.payloadBytes;
      },
      failed,
    });
    this.done = this.#receive();
  }

  /** Sends a payload from the client to the backend; drops the newest when the queue is full. */
  toBackend(payload: Uint8Array): void {
    if (this.#closed) return;
    if (!this.#toBackend.offer(payload)) return this.options.drops.inc("queue_full");
    this.lastActivity = Date.now();
  }

  async #receive(): Promise<void> {
    const { conn, flowId, drops, log } = this.options;
    // One buffer for every receive: encodeDatagram copies what it queues.
    const buffer = new Uint8Array(MAX_UDP_PAYLOAD + 1);
    while (!this.#closed) {
      let data: Uint8Array;
      let from: Deno.Addr;
      try {
        [data, from] = await this.#socket.receive(buffer);
      } catch {
        return; // socket closed
      }
      const addr = from as Deno.NetAddr;
      if (addr.port !== this.#target.port || !sameHost(addr.hostname, this.#target.hostname)) {
        drops.inc("foreign_source");
        continue;
      }
      this.lastActivity = Date.now();
      const limit = maxPayload(conn.maxDatagramSize);
      if (data.byteLength > limit) {
        drops.inc("oversize");
        log.debug("Dropped a {size}-byte reply on flow {flowId}: path allows {limit}", {
          size: data.byteLength,
          flowId,
          limit,
        });
        continue;
      }
      if (this.#toClient.full) drops.inc("queue_full");
      else {
        this.#toClient.offer({
          datagram: encodeDatagram(flowId, data),
          payloadBytes: data.byteLength,
        });
      }
    }
  }

  /** Marks the flow idle-expired. */
  expire(): void {
    this.#expire();
  }

  /** Closes the socket; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#toBackend.close();
    this.#toClient.close();
    try {
      this.#socket.close();
    } catch { /* already closed */ }
  }
}

function sameHost(a: string, b: string): boolean {
  if (a === b) return true;
  const norm = (h: string) => (h === "localhost" ? "127.0.0.1" : h.replace(/^::ffff:/, ""));
  return norm(a) === norm(b);
}
