/**
 * Starts the relay's TCP transport at `tcp_listen` (default: the QUIC host and port) with the
 * relay's link settings, and words a failed bind: by default a port held by another program only
 * costs the TCP transport (a warning), while a `tcp_listen` the operator named stops the start.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { IntermediateConfig } from "../config/schema.ts";
import { parseHostPort } from "../protocol/address.ts";
import { ALPN_TCP } from "../protocol/mod.ts";
import type { RelayMetrics } from "./relay_metrics.ts";
import { type TcpListenerDeps, TcpRelayListener, type TcpTlsMaterial } from "./tcp_listener.ts";

/** What the TCP listener takes from its relay. */
export interface TcpStartDeps extends Pick<TcpListenerDeps, "admit" | "admitLink" | "onLink"> {
  /** The bound QUIC address: TCP takes its host and port unless `tcp_listen` names another. */
  quicAddr: Deno.NetAddr;
  /** Milliseconds since the epoch. */
  clock: () => number;
  metrics: RelayMetrics;
  log: Logger;
}

/**
 * The started TCP listener, or undefined when `tcp_listen = "off"` or the default port is taken.
 * @throws {RangeError} for a `tcp_listen` that is no host:port
 * @throws {Error} naming `intermediate.tcp_listen` when the address it names cannot be bound
 */
export function startTcpListener(
  config: IntermediateConfig,
  tls: TcpTlsMaterial,
  deps: TcpStartDeps,
): TcpRelayListener | undefined {
  const { tcp_listen: where, limits } = config;
  const { metrics, log } = deps;
  if (where === "off") return undefined;
  const parsed = where === undefined
    ? { ok: true as const, value: { hostname: deps.quicAddr.hostname, port: deps.quicAddr.port } }
    : parseHostPort(where);
  if (!parsed.ok) throw new RangeError(parsed.reason);
  const tcp = new TcpRelayListener(parsed.value, {
    admit: deps.admit,
    admitLink: deps.admitLink,
    onLink: deps.onLink,
    link: {
      keepAliveMs: 0,
      idleTimeoutMs: config.idle_timeout_ms,
      streamCredit: Math.max(1, limits.max_streams_per_connection - 1),
      maxOffers: limits.max_idle_offers_per_connection,
      offerWaitMs: limits.flow_open_timeout_ms,
      clock: deps.clock,
      onProtocolError: (code) => {
        metrics.protocolErrors.inc(code);
        log.warn("Closing a TCP link after malformed input: {code}", { code });
      },
    },
    preambleTimeoutMs: limits.hello_timeout_ms,
    maxPendingPerSource: limits.tcp_pending_per_source,
    metrics,
    log,
  });
  const address = `${parsed.value.hostname}:${parsed.value.port}`;
  try {
    tcp.start(tls);
  } catch (e) {
    // By default TCP takes the QUIC port's number, which another program may hold on TCP: the
    // relay still serves QUIC, and says what peers where UDP is blocked lose.
    if (where === undefined && e instanceof Deno.errors.AddrInUse) {
      log.warn(
        "TCP transport not started: TCP {address} is in use by another program, so peers " +
          'where UDP is blocked cannot reach this relay (set intermediate.tcp_listen, or "off")',
        { address },
      );
      return undefined;
    }
    throw new Error(
      `Cannot listen on TCP ${address} (intermediate.tcp_listen): ${
        e instanceof Error ? e.message.split(" (os error")[0] : String(e)
      }; set intermediate.tcp_listen to a free address of this host, or "off"`,
      { cause: e },
    );
  }
  log.info("Relay TCP transport listening on {address} (ALPN {alpn})", {
    address: `${tcp.addr.hostname}:${tcp.addr.port}`,
    alpn: ALPN_TCP,
  });
  return tcp;
}
