/**
 * One connector session with one relay: dial, HELLO, register every service (each ACKed or NACKed),
 * then serve the flows the relay opens until the connection ends.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ConnectorConfig, RelayTargetConfig } from "../config/schema.ts";
import type { BackendTable } from "./backend_dialer.ts";
import { type FlowServerDeps, serveFlow, serveUdpDatagrams } from "./flow_server.ts";
import type { UdpBudget, UdpDrops, UdpFlow } from "./udp_flows.ts";
import type { DataPlaneState, LinkControl } from "./data_plane_state.ts";
import { type DirectListener, type InterfaceAddress, noteObserved } from "../p2p/mod.ts";
import { type RelaySession, runRelaySession, type SessionEnd } from "../transport/mod.ts";
import { type ControlMessage, FLOW_ACCEPT_VERSION } from "../protocol/mod.ts";
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
  /**
   * This is the TCP lane beside the QUIC link (`tcp_lane`): TLS over TCP whatever `transport`
   * says, no direct-path authority (the QUIC link has it), the same registrations.
   */
  lane?: boolean;
}

/** One live session with a relay, as its control messages need it. */
interface LinkSession {
  target: RelayTargetConfig;
  session: RelaySession;
  link: LinkControl;
  /** Set when this session may broker direct paths (the relay gave a ticket key). */
  authority?: { ticketKey: string; connId: string };
  deps: RelayLinkDeps;
  log: Logger;
}

/** Runs one session with `target` to its end. Never throws. */
export function runRelayLink(target: RelayTargetConfig, deps: RelayLinkDeps): Promise<SessionEnd> {
  const { config, log } = deps;
  const rlog = log.with(
    deps.lane ? { relay: target.address, lane: "tcp" } : { relay: target.address },
  );
  return runRelaySession(target, {
    role: "connector",
    token: deps.token,
    caCerts: deps.caCerts,
    keepAliveMs: config.keepalive_ms,
    idleTimeoutMs: config.idle_timeout_ms,
    maxIncomingStreams: MAX_INCOMING_FLOWS,
    endpoint: deps.lane ? undefined : deps.direct?.options.endpoint,
    // Through the HTTP proxy when one applies to this relay (then over TCP only).
    ...proxyPlan(config, target.address, deps.lane ? "tcp" : config.transport, {
      credentials: deps.proxyCredentials,
    }),
    tcpFallbackMs: config.tcp_fallback_ms,
    quicProbeMs: config.quic_probe_ms,
    offers: config.tcp_offers,
    signal: deps.signal,
    log: rlog,
  }, (session) => serveSession(target, session, deps, rlog));
}

/** Serves one authenticated session: its flows and datagrams, registrations, control messages. */
async function serveSession(
  target: RelayTargetConfig,
  session: RelaySession,
  deps: RelayLinkDeps,
  log: Logger,
): Promise<void> {
  const { config } = deps;
  const serverDeps: FlowServerDeps = {
    backends: deps.backends,
    connectTimeoutMs: config.connect_timeout_ms,
    log,
    conn: session.conn,
    udpFlows: new Map<number, UdpFlow>(),
    udpBudget: deps.udpBudget,
    udpDrops: deps.udpDrops,
    udpQueueDepth: config.udp_queue_depth,
    sendAccept: session.welcome.version >= FLOW_ACCEPT_VERSION,
    stats: deps.state?.stats,
  };
  const flows = serveIncoming(session.conn, serverDeps, deps.state);
  const datagrams = serveUdpDatagrams(serverDeps, config.udp_idle_timeout_ms);
  const authority = session.welcome.ticketKey && deps.direct && !deps.lane
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
  const ls: LinkSession = { target, session, link, authority, deps, log };
  while (true) {
    const msg = await session.control.next().catch(() => null);
    if (msg === null) break;
    await onControl(ls, msg);
  }
  deps.state?.links.delete(link);
  if (authority) deps.direct?.authorities.delete(authority);
  await flows;
  await datagrams;
}

/** Acts on one control message of the relay. */
async function onControl(ls: LinkSession, msg: ControlMessage): Promise<void> {
  const { session, link, deps, log } = ls;
  const relay = ls.target.address;
  if (msg.type === "observed") {
    noteObserved(session, msg, log);
  } else if (msg.type === "direct_revoke") {
    if (msg.identity !== undefined) deps.direct?.kick(msg.identity, msg.service);
    if (msg.tokenIds !== undefined) deps.direct?.revokeTokens(msg.tokenIds);
  } else if (msg.type === "direct_offer") {
    if (!deps.direct || !ls.authority) {
      await session.control.send({
        type: "direct_refused",
        sessionId: msg.sessionId,
        code: "unauthorized",
      });
      return;
    }
    const answerer = {
      observed: session.observed,
      send: (m: ControlMessage) => session.control.send(m),
    };
    await deps.direct.answerOffer(msg, answerer, deps.interfaces, log);
  } else if (msg.type === "fleet") {
    deps.onFleet?.(msg.relays);
  } else if (msg.type === "ack") {
    log.info("Registered service {service}", { service: msg.service });
    link.services.add(msg.service);
    deps.state?.answered(relay, msg.service);
  } else if (msg.type === "unregistered") {
    link.services.delete(msg.service);
    log.info("Unregistered service {service}", { service: msg.service });
  } else if (msg.type === "nack") {
    deps.state?.answered(relay, msg.service);
    log.error("Relay refused to register service {service}: {code}; not retrying", {
      service: msg.service,
      code: msg.code,
    });
  }
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
