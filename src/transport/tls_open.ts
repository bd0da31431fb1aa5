/**
 * Opening one TLS-over-TCP connection to the relay (TCP directly or through an HTTP proxy, then TLS
 * with the relay's certificate verified and our ALPN agreed), and the options of a link's dials.
 * @module
 */
import type { HostPortValue } from "../protocol/address.ts";
import { ALPN_TCP, ZtnaError } from "../protocol/mod.ts";
import { deadline, TIMED_OUT } from "../runtime/deadline.ts";
import { connectTcp } from "./http_proxy.ts";

/** Options of `dialTcpLink` (tcp_link.ts) and {@link openTls}. */
export interface TcpLinkOptions {
  /** The relay's `host:port`. */
  address: HostPortValue;
  /** TLS name to verify. */
  serverName: string;
  /** PEM CA certificates trusted on top of the system roots. */
  caCerts?: string[];
  keepAliveMs: number;
  idleTimeoutMs: number;
  /** Deadline of each TCP connect + TLS handshake (+ the relay's KEY for MAIN). @default {10000} */
  timeoutMs?: number;
  /** Idle OFFER connections to keep for the relay (a connector's flows). @default {0} */
  offers?: number;
  /**
   * STREAM connections to keep dialed ahead (a client's flows): a flow on a fresh connection
   * waits ~40 ms for its REPLY (see {@link TcpLink}), on a spare it does not. @default {0}
   */
  spares?: number;
  /** Opens TCP to the relay (directly, or through an HTTP proxy). @default {connectTcp} */
  connect?: (target: HostPortValue, signal?: AbortSignal) => Promise<Deno.TcpConn>;
  /**
   * Ends every dial of the link's life (MAIN, STREAM, OFFER) when aborted: the session's signal,
   * never a deadline (each dial has its own `timeoutMs`).
   */
  signal?: AbortSignal;
}

/** TCP + TLS with the relay's certificate verified and our ALPN agreed. */
export async function openTls(
  options: TcpLinkOptions,
  signal?: AbortSignal,
): Promise<Deno.TlsConn> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const connect = options.connect ?? ((t, s) => connectTcp(t, { timeoutMs, signal: s }));
  const tcp = await connect(options.address, signal);
  let tls: Deno.TlsConn | undefined;
  try {
    tcp.setNoDelay(true);
    tls = await Deno.startTls(tcp, {
      hostname: options.serverName,
      caCerts: options.caCerts,
      alpnProtocols: [ALPN_TCP],
    });
    const hs = await deadline(tls.handshake(), timeoutMs, signal);
    if (hs === TIMED_OUT) throw new Deno.errors.TimedOut("TLS handshake timed out");
    if (hs.alpnProtocol !== ALPN_TCP) {
      throw new ZtnaError("protocol_error", `the relay did not agree to ALPN ${ALPN_TCP}`);
    }
    return tls;
  } catch (e) {
    try {
      (tls ?? tcp).close();
    } catch { /* closed */ }
    throw e;
  }
}

/** Writes all of `data` (a TLS write may take part of it). */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let at = 0;
  while (at < data.byteLength) at += await conn.write(data.subarray(at));
}
