/**
 * The relay's TLS-over-TCP listener (ALPN `ztna-tcp/1`, same certificate as QUIC): admits each
 * connection through the relay's connection decisions before the TLS handshake, gives it
 * `hello_timeout_ms` for handshake and preamble (slow-loris), caps connections still owing their
 * preamble per source address, then makes a MAIN connection a new link (a PeerSession, as a QUIC
 * connection) and hands STREAM and OFFER connections to the link their key names. A certificate
 * reload binds a second listener on the same port (SO_REUSEPORT) and closes the old one.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import {
  ALPN_TCP,
  decodePreamble,
  encodeClose,
  encodeLinkFrame,
  type ErrorCode,
  ERRORS,
  MAX_STREAM_HEADER,
} from "../protocol/mod.ts";
import { deadline, TIMED_OUT } from "../runtime/mod.ts";
import { LogThrottle } from "./log_throttle.ts";
import type { RelayMetrics } from "./relay_metrics.ts";
import { RelayTcpLink, type RelayTcpLinkOptions } from "./tcp_peer_link.ts";

/** What the listener needs from its relay. */
export interface TcpListenerDeps {
  /** May a connection from `source` start a TLS handshake (draining, caps, handshake rate)? */
  admit(source: string): boolean;
  /** May `source` start a new link (the per-source handshake rate QUIC connections meet)? */
  admitLink(source: string): boolean;
  /** A new link: the relay runs a PeerSession on it. */
  onLink(link: RelayTcpLink): void;
  /** Settings of each new link. */
  link: Omit<RelayTcpLinkOptions, "remoteAddr" | "prefix">;
  /** Handshake + preamble deadline (`limits.hello_timeout_ms`). */
  preambleTimeoutMs: number;
  /** Connections owing their preamble, per source address, at most. */
  maxPendingPerSource: number;
  metrics: RelayMetrics;
  log: Logger;
}

/** TLS material as PEM text. */
export interface TcpTlsMaterial {
  cert: string;
  key: string;
}

/** The TCP listener of one relay. */
export class TcpRelayListener {
  readonly #deps: TcpListenerDeps;
  readonly #hostname: string;
  #port: number;
  #listener: Deno.TlsListener | undefined;
  readonly #links = new Map<string, RelayTcpLink>();
  readonly #pending = new Map<string, number>();
  readonly #lines = new LogThrottle();
  #stopped = false;

  constructor(address: { hostname: string; port: number }, deps: TcpListenerDeps) {
    this.#hostname = address.hostname;
    this.#port = address.port;
    this.#deps = deps;
  }

  /** The bound address. @throws before start */
  get addr(): Deno.NetAddr {
    if (!this.#listener) throw new Deno.errors.NotConnected("the TCP listener has not started");
    return this.#listener.addr;
  }

  /** Live links (admin view, tests). */
  get links(): number {
    return this.#links.size;
  }

  /** Binds and accepts. @throws {Deno.errors.AddrInUse} and the other bind errors */
  start(tls: TcpTlsMaterial): void {
    this.#bind(tls);
  }

  /** New certificate for new connections: a second listener on the port, then the old one closes. */
  reloadTls(tls: TcpTlsMaterial): void {
    const old = this.#listener;
    this.#bind(tls);
    try {
      old?.close();
    } catch { /* closed */ }
  }

  /** Stops accepting; links go on until their sessions end. */
  stop(): void {
    this.#stopped = true;
    try {
      this.#listener?.close();
    } catch { /* closed */ }
  }

  #bind(tls: TcpTlsMaterial): void {
    const listener = Deno.listenTls({
      hostname: this.#hostname,
      port: this.#port,
      cert: tls.cert,
      key: tls.key,
      alpnProtocols: [ALPN_TCP],
      reusePort: true,
    });
    this.#port = listener.addr.port;
    this.#listener = listener;
    void this.#accept(listener);
  }

  async #accept(listener: Deno.TlsListener): Promise<void> {
    while (!this.#stopped) {
      let conn: Deno.TlsConn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
        if (listener !== this.#listener) return;
        continue; // a failed accept (e.g. too many open files) must not end the listener
      }
      // Never an unhandled rejection: one connection's failure must not end the relay.
      this.#serve(conn).catch((e) => {
        this.#deps.log.debug("TCP connection failed: {error}", { error: String(e) });
        close(conn);
      });
    }
  }

  async #serve(conn: Deno.TlsConn): Promise<void> {
    const { metrics } = this.#deps;
    const source = conn.remoteAddr.hostname;
    const pending = this.#pending.get(source) ?? 0;
    if (pending >= this.#deps.maxPendingPerSource) {
      metrics.tcpConnections.inc("pending_per_source");
      this.#note("pending_per_source", `max ${this.#deps.maxPendingPerSource} per source`);
      return close(conn);
    }
    if (!this.#deps.admit(source)) {
      metrics.tcpConnections.inc("refused");
      return close(conn);
    }
    this.#pending.set(source, pending + 1);
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      const n = (this.#pending.get(source) ?? 1) - 1;
      if (n <= 0) this.#pending.delete(source);
      else this.#pending.set(source, n);
    };
    try {
      await this.#preamble(conn, source);
    } finally {
      release();
    }
  }

  /** Handshake and preamble within the deadline, then the connection's kind decides. */
  async #preamble(conn: Deno.TlsConn, source: string): Promise<void> {
    const { metrics } = this.#deps;
    const read = async () => {
      const hs = await conn.handshake();
      if (hs.alpnProtocol !== ALPN_TCP) return { error: "alpn" as const };
      let buf = new Uint8Array(0);
      const chunk = new Uint8Array(MAX_STREAM_HEADER);
      while (true) {
        const d = decodePreamble(buf);
        if (d.kind !== "incomplete") return { decoded: d, rest: buf };
        const n = await conn.read(chunk);
        if (n === null) return { error: "eof" as const };
        const joined = new Uint8Array(buf.byteLength + n);
        joined.set(buf);
        joined.set(chunk.subarray(0, n), buf.byteLength);
        buf = joined;
      }
    };
    const got = await deadline(
      read().catch(() => ({ error: "tls" as const })),
      this.#deps.preambleTimeoutMs,
    );
    if (got === TIMED_OUT) {
      metrics.tcpConnections.inc("preamble_timeout");
      metrics.authFailures.inc("hello_timeout");
      this.#note("preamble_timeout", `hello_timeout_ms = ${this.#deps.preambleTimeoutMs}`);
      return await refuse(conn, "hello_timeout");
    }
    if ("error" in got) {
      metrics.tcpConnections.inc(got.error === "alpn" ? "bad_alpn" : "handshake_failed");
      return close(conn);
    }
    const d = got.decoded;
    if (d.kind !== "preamble") {
      metrics.tcpConnections.inc("bad_preamble");
      metrics.protocolErrors.inc("protocol_error");
      this.#note("bad_preamble", d.kind === "error" ? d.why : "");
      return await refuse(conn, "protocol_error");
    }
    const rest = got.rest.subarray(d.used);
    const p = d.preamble;
    if (p.kind === "main") return await this.#main(conn, source, rest);
    const link = this.#links.get(keyId(p.key));
    if (!link || !link.matches(p.key) || link.isClosed) {
      metrics.tcpConnections.inc("unknown_link_key");
      metrics.refusedStreams.inc("unknown_link_key");
      this.#note("unknown_link_key", p.kind);
      return await refuse(conn, "unauthenticated");
    }
    metrics.tcpConnections.inc(p.kind);
    if (p.kind === "stream") link.acceptStream(conn, rest);
    else if (!link.addOffer(conn, rest)) metrics.refusedStreams.inc("offers_per_link");
  }

  async #main(conn: Deno.TlsConn, source: string, rest: Uint8Array): Promise<void> {
    if (!this.#deps.admitLink(source)) {
      this.#deps.metrics.tcpConnections.inc("refused");
      return await refuse(conn, "limit_exceeded");
    }
    this.#deps.metrics.tcpConnections.inc("main");
    const link = new RelayTcpLink(conn, {
      ...this.#deps.link,
      remoteAddr: conn.remoteAddr,
      prefix: rest,
    });
    const id = keyId(link.key);
    this.#links.set(id, link);
    link.closed.catch(() => {}).finally(() => this.#links.delete(id));
    this.#deps.onLink(link);
  }

  /** One line per reason and 10 s, with the count: floods must not flood the log. */
  #note(reason: string, detail: string): void {
    const count = this.#lines.hit(reason, Date.now());
    if (count > 0) {
      this.#deps.log.warn("Closed {count} TCP connection(s) before a link: {reason} ({detail})", {
        count,
        reason,
        detail,
      });
    }
  }
}

/** Map key of a link key (hex). */
function keyId(key: Uint8Array): string {
  return [...key].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Tells the dialer why in a CLOSE frame (its first frame reader understands it), then closes. */
async function refuse(conn: Deno.TlsConn, code: ErrorCode): Promise<void> {
  const frame = encodeLinkFrame("close", encodeClose(ERRORS[code].wire, code));
  await deadline(conn.write(frame).catch(() => 0), 1_000);
  close(conn);
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed */ }
}
