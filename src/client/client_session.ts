/**
 * One relay session of the client: dial, HELLO, the pool of further connections for flows, and the
 * control messages the relay sends while it lives.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { ClientConfig } from "../config/schema.ts";
import { type ControlMessage, type ErrorCode, ERRORS } from "../protocol/mod.ts";
import {
  dialLink,
  helloRelay,
  linkTransport,
  type RelaySession,
  runRelaySession,
  type SessionEnd,
} from "../transport/mod.ts";
import { noteObserved } from "../p2p/mod.ts";
import { type PooledSession, RelayPool } from "./relay_pool.ts";
import type { SessionHolder } from "./session_holder.ts";
import type { ProxyCredentials } from "../protocol/proxy_url.ts";
import { proxyPlan } from "../transport/mod.ts";

/**
 * An extra relay connection (opened when the others had no free stream) closes after carrying no
 * flow this long: long enough that a pool of short connections (HTTP, database) does not dial on
 * every burst, short enough that the relay soon gets its memory back.
 */
const EXTRA_CONNECTION_IDLE_MS = 30_000;

const log = getLogger(["ztna", "client"]);

/** The code of a session end that no retry will change (revoked, expired, invalid, wrong role). */
export function lastingRefusal(end: SessionEnd): ErrorCode | undefined {
  if (end.code === undefined || end.code === "unknown") return undefined;
  return ERRORS[end.code].retry ? undefined : end.code;
}

/** Hooks of one relay session used by direct paths. */
export interface SessionHooks {
  endpoint?: Deno.QuicEndpoint;
  /** The newest token issued after a login, for further connections. */
  currentToken?(): string | undefined;
  onSession(session: RelaySession): void;
  onControl(msg: ControlMessage): void;
  /** Basic credentials for the HTTP proxy (proxy_credentials_file or ZTNA_PROXY_CREDENTIALS). */
  proxyCredentials?: ProxyCredentials;
}

/** Runs one relay session with its pool of connections; `holder` has it while it lives. */
export function runSession(
  target: ClientConfig["relays"][number],
  config: ClientConfig,
  token: string | { idToken: string },
  caCerts: string[] | undefined,
  holder: SessionHolder,
  signal: AbortSignal,
  hooks: SessionHooks,
): Promise<SessionEnd> {
  const dialOptions = {
    caCerts,
    keepAliveMs: config.keepalive_ms,
    idleTimeoutMs: config.idle_timeout_ms,
    endpoint: hooks.endpoint,
    // Through the HTTP proxy when one applies to this relay (then over TCP only).
    ...proxyPlan(config, target.address, config.transport, {
      credentials: hooks.proxyCredentials,
    }),
    tcpFallbackMs: config.tcp_fallback_ms,
    spares: config.tcp_spare_streams,
  };
  return runRelaySession(target, {
    role: "client",
    token,
    ...dialOptions,
    quicProbeMs: config.quic_probe_ms,
    signal,
    log,
  }, async (relaySession) => {
    // Further connections present the token this session authenticated with (after a login, the
    // one the relay issued), so they carry the same identity and grants.
    const sameToken = relaySession.welcome.issuedToken ?? token;
    const dialOn = async (transport: "quic" | "tcp") => {
      const conn = await dialLink(target, { ...dialOptions, transport, signal });
      try {
        // After a login refresh, the newest issued token: the first may be near its end.
        return await helloRelay(conn, "client", hooks.currentToken?.() ?? sameToken);
      } catch (e) {
        conn.close({ closeCode: 0, reason: "" });
        throw e;
      }
    };
    const transport = linkTransport(relaySession.conn);
    const streams = new RelayPool(relaySession, {
      maxConnections: config.max_relay_connections,
      idleCloseMs: EXTRA_CONNECTION_IDLE_MS,
      log,
      // Further connections take the transport the session authenticated over.
      dial: () => dialOn(transport),
      // The TCP lane: beside a QUIC session of transport "auto" (a proxy makes it TCP already).
      ...(config.tcp_lane && dialOptions.transport === "auto" && transport === "quic"
        ? { dialLane: () => dialOn("tcp"), laneRetryMs: config.quic_probe_ms }
        : {}),
    });
    const session: PooledSession = Object.assign(relaySession, { streams });
    holder.set(session);
    hooks.onSession(session);
    // The relay speaks on the control stream only to answer direct-path requests.
    while (true) {
      const msg = await session.control.next().catch(() => null);
      if (msg === null) break;
      if (msg.type === "observed") noteObserved(session, msg, log);
      else hooks.onControl(msg);
    }
    await session.conn.closed.catch(() => undefined);
    holder.clear(session);
    streams.retire();
  });
}
