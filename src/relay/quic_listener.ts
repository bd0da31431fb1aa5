/**
 * The relay's QUIC side: the endpoint (bound in `start()`), the listener with the current
 * certificate (swapped on reload), and the accept loop that asks admission before any crypto work
 * and after the handshake; each admitted connection becomes a peer link for the relay.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { ALPN, ERRORS } from "../protocol/mod.ts";
import type { PeerLink } from "../transport/mod.ts";
import type { RelayMetrics } from "./relay_metrics.ts";

/** What the QUIC listener asks of the relay that owns it. */
export interface QuicListenerDeps {
  /** Draining, connection cap and global handshake rate, before any crypto work. */
  admit(): boolean;
  /** The per-source rate of a connection that completed its handshake from `source`. */
  admitLink(source: string): boolean;
  /** Runs an admitted connection as a peer session until it ends. */
  serve(link: PeerLink): Promise<void>;
  idleTimeoutMs: number;
  maxStreamsPerConnection: number;
  metrics: RelayMetrics;
  log: Logger;
}

/** The QUIC endpoint and listener of a relay; owns its accept loops and handshakes. */
export class QuicRelayListener {
  readonly #where: { hostname: string; port: number };
  readonly #deps: QuicListenerDeps;
  #endpoint: Deno.QuicEndpoint | undefined;
  #listener: Deno.QuicListener | undefined;
  readonly #running = new Set<Promise<void>>();

  constructor(where: { hostname: string; port: number }, deps: QuicListenerDeps) {
    this.#where = where;
    this.#deps = deps;
  }

  /** The bound UDP address (port resolved when 0 was asked). @throws before start */
  get addr(): Deno.NetAddr {
    if (!this.#endpoint) throw new Deno.errors.NotConnected("the relay has not started");
    return this.#endpoint.addr;
  }

  /** True while a listener accepts connections. */
  get listening(): boolean {
    return this.#listener !== undefined;
  }

  /**
   * Binds the endpoint and listens with `tls`.
   * @throws {Deno.errors.AddrInUse} and the other bind errors of `Deno.QuicEndpoint`
   */
  start(tls: { cert: string; key: string }): void {
    this.#endpoint = new Deno.QuicEndpoint(this.#where);
    this.#listen(tls);
  }

  /** A new listener on the same endpoint with `tls`; established connections stay. */
  reloadTls(tls: { cert: string; key: string }): void {
    this.#listener?.stop();
    this.#listen(tls);
  }

  /** Stops accepting; established connections stay until {@link close}. */
  stop(): void {
    this.#listener?.stop();
    this.#listener = undefined;
  }

  /** Waits up to `graceMs` for running sessions, then closes the endpoint. */
  async close(graceMs: number): Promise<void> {
    this.stop();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.#running),
      new Promise((r) => timer = setTimeout(r, graceMs)),
    ]);
    clearTimeout(timer);
    this.#endpoint?.close({ closeCode: 0, reason: "going_away" });
  }

  #listen(tls: { cert: string; key: string }): void {
    const listener = this.#endpoint!.listen({
      alpnProtocols: [ALPN],
      cert: tls.cert,
      key: tls.key,
      maxIdleTimeout: this.#deps.idleTimeoutMs,
      maxConcurrentBidirectionalStreams: this.#deps.maxStreamsPerConnection,
      maxConcurrentUnidirectionalStreams: 0,
    });
    this.#listener = listener;
    this.#track(this.#accept(listener));
  }

  #track(p: Promise<void>): void {
    const tracked = p.finally(() => this.#running.delete(tracked));
    this.#running.add(tracked);
  }

  async #accept(listener: Deno.QuicListener): Promise<void> {
    while (true) {
      let incoming: Deno.QuicIncoming;
      try {
        incoming = await listener.incoming();
      } catch {
        return; // listener stopped
      }
      // Deno 2.9.6: a pending incoming() on a stopped listener neither rejects nor stays idle; it
      // may still receive one connection. Serve that one, then let the old loop end.
      const stale = listener !== this.#listener;
      // Refused before any crypto work: the cheap answer to a handshake flood, and the only limit a
      // spoofed-source flood meets (no Retry in Deno 2.9.6).
      if (this.#deps.admit()) this.#track(this.#handshake(incoming));
      else incoming.refuse();
      if (stale) return;
    }
  }

  async #handshake(incoming: Deno.QuicIncoming): Promise<void> {
    let conn: Deno.QuicConn;
    try {
      conn = await incoming.accept();
    } catch (e) {
      this.#deps.metrics.authFailures.inc("handshake_failed");
      this.#deps.log.debug("QUIC handshake failed: {error}", { error: String(e) });
      return;
    }
    // Deno 2.9.6 cannot read a QuicIncoming's address without losing it (each getter takes the
    // attempt out of its resource, which refuses it), nor send a Retry. So the per-source limit acts
    // only once a handshake completes (close at once, before any stream is read) and never sees a
    // source that does not answer (spoofed): against those only handshakes_per_second counts
    // (bench/spoofed_flood.ts).
    if (!this.#deps.admitLink(conn.remoteAddr.hostname)) {
      conn.close({ closeCode: ERRORS.limit_exceeded.wire, reason: "limit_exceeded" });
      return;
    }
    await this.#deps.serve(conn);
  }
}
