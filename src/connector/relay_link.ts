/**
 * One connector session with one relay: dial, HELLO, register every service (each ACKed or NACKed),
 * then serve the flows the relay opens until the connection ends.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ConnectorConfig, RelayTargetConfig } from "../config/schema.ts";
import type { BackendTable } from "./backend_dialer.ts";
import { expireIdleUdpFlows, type FlowServerDeps, serveFlow } from "./flow_server.ts";
import type { UdpBudget, UdpDrops, UdpFlow } from "./udp_flows.ts";
import type { DirectListener } from "./direct_listener.ts";
import type { DataPlaneState, LinkControl } from "./data_plane_state.ts";
import {
  demuxDatagrams,
  directCandidates,
  type InterfaceAddress,
  noteObserved,
  runRelaySession,
  type SessionEnd,
} from "../transport/mod.ts";
import { FLOW_ACCEPT_VERSION } from "../protocol/mod.ts";
import type { FleetRelay } from "../protocol/mod.ts";
import type { PeerLink } from "../transport/mod.ts";
import type { ProxyCredentials } from "../protocol/proxy_url.ts";
import { proxyPlan } from "../transport/mod.ts";

/** Incoming flow streams a connector allows per relay connection. */
export const MAX_INCOMING_FLOWS = 4_096;

/** What one link needs. */
export interface RelayLinkDeps {
  config: ConnectorConfig;
  token: string;
  caCerts?: string[];
  /** Basic credentials for the HTTP proxy, read by the main thread. */
  proxyCredentials?: ProxyCredentials;
  backends: BackendTable;
  udpBudget: UdpBudget;
  udpDrops: UdpDrops;
  /** Direct-path listener, when `direct` is on; the relay dial then uses its endpoint. */
  direct?: DirectListener;
  /** The host's interface addresses: direct-path candidates beside the observed one. */
  interfaces: InterfaceAddress[];
  /** Shared with the Worker's other links: reload drain, readiness, flows in progress. */
  state?: DataPlaneState;
  signal: AbortSignal;
  log: Logger;
  /** The fleet's live relays, from the relay's FLEET message (fleet_links.ts). */
  onFleet?: (relays: FleetRelay[]) => void;
}

/** Runs one session with `target` to its end. Never throws. */
export function runRelayLink(target: RelayTargetConfig, deps: RelayLinkDeps): Promise<SessionEnd> {
  const { config, log } = deps;
  const rlog = log.with({ relay: target.address });
  return runRelaySession(target, {
    role: "connector",
    token: deps.token,
    caCerts: deps.caCerts,
    keepAliveMs: config.keepalive_ms,
    idleTimeoutMs: config.idle_timeout_ms,
    maxIncomingStreams: MAX_INCOMING_FLOWS,
    endpoint: deps.direct?.options.endpoint,
    // Through the HTTP proxy when one applies to this relay (then over TCP only).
    ...proxyPlan(config, target.address, config.transport, {
      credentials: deps.proxyCredentials,
    }),
    tcpFallbackMs: config.tcp_fallback_ms,
    quicProbeMs: config.quic_probe_ms,
    offers: config.tcp_offers,
    signal: deps.signal,
    log: rlog,
  }, async (session) => {
    const serverDeps: FlowServerDeps = {
      backends: deps.backends,
      connectTimeoutMs: config.connect_timeout_ms,
      log: rlog,
      conn: session.conn,
      udpFlows: new Map<number, UdpFlow>(),
      udpBudget: deps.udpBudget,
      udpDrops: deps.udpDrops,
      udpQueueDepth: config.udp_queue_depth,
      sendAccept: session.welcome.version >= FLOW_ACCEPT_VERSION,
      stats: deps.state?.stats,
    };
    const flows = serveIncoming(session.conn, serverDeps, deps.state);
    const datagrams = pumpDatagrams(session.conn, serverDeps);
    const sweep = Math.max(100, Math.min(5_000, config.udp_idle_timeout_ms / 4));
    const sweeper = setInterval(
      () => expireIdleUdpFlows(serverDeps.udpFlows, config.udp_idle_timeout_ms),
      sweep,
    );
    const authority = session.welcome.ticketKey && deps.direct
      ? { ticketKey: session.welcome.ticketKey, connId: session.welcome.connId }
      : undefined;
    if (authority) deps.direct?.authorities.add(authority);
    const link: LinkControl = {
      relay: target.address,
      version: session.welcome.version,
      services: new Set(),
      send: (m) => session.control.send(m),
      close: () => session.conn.close({ closeCode: 0, reason: "connector reload" }),
    };
    deps.state?.links.add(link);
    for (const service of deps.backends.services) {
      await session.control.send({
        type: "register",
        service,
        protocols: deps.backends.protocols(service),
        direct: authority !== undefined,
      });
    }
    while (true) {
      const msg = await session.control.next().catch(() => null);
      if (msg === null) break;
      if (msg.type === "observed") {
        noteObserved(session, msg, rlog);
      } else if (msg.type === "direct_revoke") {
        if (msg.identity !== undefined) deps.direct?.kick(msg.identity, msg.service);
        if (msg.tokenIds !== undefined) deps.direct?.revokeTokens(msg.tokenIds);
      } else if (msg.type === "direct_offer") {
        const direct = deps.direct;
        if (!direct || !authority) {
          await session.control.send({
            type: "direct_refused",
            sessionId: msg.sessionId,
            code: "unauthorized",
          });
          continue;
        }
        const candidates = directCandidates(
          session.observed,
          direct.options.endpoint.addr.port,
          deps.interfaces,
        );
        await session.control.send({
          type: "direct_accept",
          sessionId: msg.sessionId,
          candidates,
          cert: direct.options.cert.cert,
          serverName: direct.options.cert.serverName,
        });
        rlog.debug("Punching toward {identity} for {service}: theirs {theirs}, ours {ours}", {
          identity: msg.identity,
          service: msg.service,
          theirs: msg.candidates.map((c) => `${c.hostname}:${c.port}`).join(" "),
          ours: candidates.map((c) => `${c.hostname}:${c.port}`).join(" "),
        });
        direct.punch(msg.candidates);
      } else if (msg.type === "fleet") {
        deps.onFleet?.(msg.relays);
      } else if (msg.type === "ack") {
        rlog.info("Registered service {service}", { service: msg.service });
        link.services.add(msg.service);
        deps.state?.answered(target.address, msg.service);
      } else if (msg.type === "unregistered") {
        link.services.delete(msg.service);
        rlog.info("Unregistered service {service}", { service: msg.service });
      } else if (msg.type === "nack") {
        deps.state?.answered(target.address, msg.service);
        rlog.error("Relay refused to register service {service}: {code}; not retrying", {
          service: msg.service,
          code: msg.code,
        });
      }
    }
    clearInterval(sweeper);
    deps.state?.links.delete(link);
    if (authority) deps.direct?.authorities.delete(authority);
    await flows;
    await datagrams;
  });
}

async function serveIncoming(
  conn: PeerLink,
  deps: FlowServerDeps,
  state?: DataPlaneState,
): Promise<void> {
  const running = new Set<Promise<void>>();
  const reader = conn.incomingBidirectionalStreams.getReader();
  while (true) {
    const next = await reader.read().catch(() => ({ done: true as const, value: undefined }));
    if (next.done) break;
    state?.flowStarted();
    const p = serveFlow(next.value, deps).finally(() => {
      running.delete(p);
      state?.flowEnded();
    });
    running.add(p);
  }
  await Promise.all(running);
}

/** Client → backend datagrams: looked up in this link's own flow table only. */
function pumpDatagrams(conn: PeerLink, deps: FlowServerDeps): Promise<void> {
  return demuxDatagrams(
    conn,
    (flowId) => {
      const flow = deps.udpFlows.get(flowId);
      return flow && ((payload) => flow.toBackend(payload));
    },
    (reason) => deps.udpDrops.inc(reason),
  );
}
