/**
 * SOCKS5 UDP ASSOCIATE (RFC 1928, section 7) at the client's SOCKS endpoint: one local UDP socket
 * per association, datagrams addressed to a UDP service by name (`id` or `id.<suffix>`), each
 * target a UDP forward of its own (udp_forward.ts) whose replies go back with the target's header.
 * Only the association's client (the TCP connection's address) may use the socket; the association
 * ends with that TCP connection. Fragments (FRAG ≠ 0) are dropped, as RFC 1928 allows.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { type LocalDatagrams, UdpForward } from "./udp_forward.ts";
import { parseUdpHeader } from "./socks5.ts";
import { resolveServiceName } from "./service_name.ts";
import type { SessionHolder } from "./session_holder.ts";

/** Settings of the UDP flows of an association. */
export interface SocksUdpOptions {
  suffix: string;
  holder: SessionHolder;
  relayWaitMs: number;
  replyTimeoutMs: number;
  idleMs: number;
  queueDepth: number;
  direct?: (service: string) => Deno.QuicConn | undefined;
  log: Logger;
}

/** Targets one association may address at once: each holds a flow and two queues. */
const MAX_TARGETS = 32;

/** Largest UDP payload (IPv4): the reused receive buffer never truncates. */
const MAX_UDP_PAYLOAD = 65_507;

/**
 * One target's share of the association socket, shaped as a datagram socket for {@link UdpForward}:
 * it receives what the association routes to it and sends replies with the target's header.
 */
class TargetSocket implements LocalDatagrams {
  readonly #queue: Array<[Uint8Array<ArrayBuffer>, Deno.Addr]> = [];
  #waiter: PromiseWithResolvers<[Uint8Array<ArrayBuffer>, Deno.Addr]> | undefined;
  #closed = false;

  constructor(
    readonly header: Uint8Array,
    readonly depth: number,
    readonly out: (datagram: Uint8Array, to: Deno.Addr) => Promise<number>,
  ) {}

  /** Routes one datagram from the client; false when full or closed (dropped). */
  push(data: Uint8Array<ArrayBuffer>, from: Deno.Addr): boolean {
    if (this.#closed) return false;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w.resolve([data, from]);
      return true;
    }
    if (this.#queue.length >= this.depth) return false;
    this.#queue.push([data, from]);
    return true;
  }

  receive(): Promise<[Uint8Array<ArrayBuffer>, Deno.Addr]> {
    const next = this.#queue.shift();
    if (next) return Promise.resolve(next);
    if (this.#closed) return Promise.reject(new Error("association closed"));
    this.#waiter = Promise.withResolvers();
    return this.#waiter.promise;
  }

  send(payload: Uint8Array, to: Deno.Addr): Promise<number> {
    const datagram = new Uint8Array(this.header.byteLength + payload.byteLength);
    datagram.set(this.header);
    datagram.set(payload, this.header.byteLength);
    return this.out(datagram, to);
  }

  close(): void {
    this.#closed = true;
    this.#waiter?.reject(new Error("association closed"));
    this.#waiter = undefined;
  }
}

/** A UDP association: its socket, its client and its targets. */
export class SocksUdpAssociation {
  readonly #targets = new Map<string, { socket: TargetSocket; forward: UdpForward }>();
  readonly #refusedNames = new Set<string>();
  #clientPort: number | undefined;
  #dropped = 0;

  /**
   * @param socket bound on the SOCKS endpoint's address, port 0
   * @param client the address of the TCP connection that asked (only it may send)
   * @param clientPort the port the client said it sends from; 0 means "the first one seen"
   */
  constructor(
    readonly socket: Deno.DatagramConn,
    readonly client: string,
    clientPort: number,
    readonly options: SocksUdpOptions,
  ) {
    this.#clientPort = clientPort === 0 ? undefined : clientPort;
  }

  /** Routes the client's datagrams until the socket closes; then closes every target. */
  async run(): Promise<void> {
    const buffer = new Uint8Array(MAX_UDP_PAYLOAD + 1);
    try {
      while (true) {
        let data: Uint8Array;
        let from: Deno.NetAddr;
        try {
          const [d, f] = await this.socket.receive(buffer);
          data = d;
          from = f as Deno.NetAddr;
        } catch {
          return;
        }
        this.#route(data, from);
      }
    } finally {
      for (const t of this.#targets.values()) t.socket.close();
      this.#targets.clear();
      if (this.#dropped > 0) {
        this.options.log.info("SOCKS5 UDP association ended; {dropped} datagrams dropped", {
          dropped: this.#dropped,
        });
      }
    }
  }

  close(): void {
    try {
      this.socket.close();
    } catch { /* already closed */ }
  }

  #route(data: Uint8Array, from: Deno.NetAddr): void {
    const { log } = this.options;
    // Only the association's own client: anyone else on the host could otherwise use its grants.
    if (from.hostname !== this.client) return void this.#dropped++;
    if (this.#clientPort === undefined) this.#clientPort = from.port;
    if (from.port !== this.#clientPort) return void this.#dropped++;
    const parsed = parseUdpHeader(data);
    if (parsed.kind === "error" || parsed.frag !== 0) return void this.#dropped++;
    const key = `${parsed.host}|${parsed.port}`;
    let target = this.#targets.get(key);
    if (!target) {
      const session = this.options.holder.current;
      if (!session) return void this.#dropped++;
      const decision = resolveServiceName(
        parsed.host,
        this.options.suffix,
        session.welcome.services,
      );
      if (!decision.ok) {
        if (!this.#refusedNames.has(parsed.host)) {
          this.#refusedNames.add(parsed.host);
          log.warn("Dropped SOCKS5 UDP datagrams for {name}: {code} ({why})", {
            name: parsed.host,
            code: decision.code,
            why: decision.why,
          });
        }
        return void this.#dropped++;
      }
      if (this.#targets.size >= MAX_TARGETS) return void this.#dropped++;
      const socket = new TargetSocket(
        parsed.header,
        this.options.queueDepth,
        (datagram, to) => this.socket.send(datagram, to),
      );
      const forward = new UdpForward(socket, this.options.holder, {
        service: decision.service,
        idleMs: this.options.idleMs,
        maxFlows: 1,
        queueDepth: this.options.queueDepth,
        sessionWaitMs: this.options.relayWaitMs,
        replyTimeoutMs: this.options.replyTimeoutMs,
        ...(this.options.direct ? { direct: this.options.direct } : {}),
        log,
      });
      target = { socket, forward };
      this.#targets.set(key, target);
      void forward.run();
    }
    // The receive buffer is reused: the target keeps a copy.
    if (!target.socket.push(parsed.data.slice(), from)) this.#dropped++;
  }
}
