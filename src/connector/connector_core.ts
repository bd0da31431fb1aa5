/**
 * The connector's data plane: one reconnecting session per configured relay and per relay learnt
 * from the fleet (fleet_links.ts), serving only the configured backends. Runs inside the egress
 * Worker sandbox (egress_worker.ts); it needs no permission besides the addresses it grants.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { ConnectorConfig, RelayTargetConfig } from "../config/schema.ts";
import { BackendTable } from "./backend_dialer.ts";
import { type RelayLinkDeps, runRelayLink } from "./relay_link.ts";
import { FleetLinks } from "./fleet_links.ts";
import { learnPatterns } from "../config/net_pattern.ts";
import { UdpBudget, UdpDrops } from "./udp_flows.ts";
import { DirectListener, type InterfaceAddress } from "../p2p/mod.ts";
import { directConnFlows } from "./direct_flows.ts";
import { makeEphemeralCert } from "../pki/ephemeral_cert.ts";
import { DataPlaneState } from "./data_plane_state.ts";
import type { ProxyCredentials } from "../protocol/proxy_url.ts";
import { keepConnected, proxyPlan, type SessionEnd } from "../transport/mod.ts";
import { quietLogger } from "./quiet_log.ts";

const log = getLogger(["ztna", "connector"]);

/** Inputs of {@link runConnectorCore}; everything read from disk is read by the caller. */
export interface ConnectorCoreOptions {
  config: ConnectorConfig;
  token: string;
  /** PEM CA certificates for the relays, read by the main thread (the sandbox cannot read). */
  caCerts?: string[];
  /** Basic credentials for the HTTP proxy, read by the main thread. */
  proxyCredentials?: ProxyCredentials;
  /** The host's interface addresses, for direct-path candidates. @default {[]} */
  interfaces?: InterfaceAddress[];
  signal: AbortSignal;
  /** The allow-list; replaced only by tests that prove the sandbox holds without it. */
  backends?: BackendTable;
  /** Called with the state a reload drains, once it exists. */
  onState?: (state: DataPlaneState) => void;
  /** Every relay answered every registration once (a reload waits for it). */
  onReady?: () => void;
  /** A drained data plane has no flow left: the caller stops it. */
  onIdle?: () => void;
}

/** Runs until `signal` aborts; then closes every relay connection at once. */
export async function runConnectorCore(options: ConnectorCoreOptions): Promise<void> {
  const { config, token, caCerts, signal } = options;
  const backends = options.backends ?? new BackendTable(config.service);
  const udpBudget = new UdpBudget(config.max_udp_flows, config.max_udp_flows_per_identity);
  const udpDrops = new UdpDrops();
  const state = new DataPlaneState(backends, config.relays.length, log, {
    onReady: options.onReady,
    onIdle: options.onIdle,
  }, udpDrops);
  options.onState?.(state);
  const direct = config.direct
    ? await directListenerFor(config, backends, { budget: udpBudget, drops: udpDrops }, state)
    : undefined;
  if (direct) {
    const addr = direct.options.endpoint.addr;
    log.info("Accepting direct paths on UDP port {port}", { port: addr.port });
  }
  log.info("Connector serving {services} through {count} relay(s)", {
    services: backends.services.join(", "),
    count: config.relays.length,
  });
  const links: FleetLinks = new FleetLinks(config.relays, {
    patterns: learnPatterns(config.learn_relays),
    signal,
    log,
    loop: (target, linkSignal) => {
      const deps: RelayLinkDeps = {
        config,
        token,
        caCerts,
        proxyCredentials: options.proxyCredentials,
        backends,
        udpBudget,
        udpDrops,
        direct,
        interfaces: options.interfaces ?? [],
        state,
        signal: linkSignal,
        log,
        onFleet: (relays) => links.learn(relays),
      };
      const retired = () => links.retired(target.address);
      return wantsLane(config, target.address)
        ? Promise.all([
          keepLink(target, deps, retired, false),
          keepLink(target, deps, retired, true),
        ])
          .then(() => {})
        : keepLink(target, deps, retired, false);
    },
  });
  await links.run();
  direct?.closeAll();
  direct?.options.endpoint.close();
  if (udpDrops.counts.size > 0) {
    log.info("UDP drops at this connector: {drops}", {
      drops: Object.fromEntries(udpDrops.counts),
    });
  }
  log.info("Connector stopped");
}

/**
 * Keeps one link to `target` (its QUIC link, or with `lane` its TCP lane) connected with backoff
 * until the link's signal aborts or the fleet retires the relay.
 */
function keepLink(
  target: RelayTargetConfig,
  deps: RelayLinkDeps,
  retired: () => boolean,
  lane: boolean,
): Promise<void> {
  // The lane says once that it cannot connect, then retries quietly until it does.
  let down = false;
  const linkLog = lane ? quietLogger(deps.log, () => down) : deps.log;
  const session = async (): Promise<SessionEnd> => {
    if (retired()) return { authenticated: false };
    const end = await runRelayLink(target, { ...deps, log: linkLog, lane });
    if (lane && !end.authenticated && !down && !deps.signal.aborted) {
      deps.log.warn(
        "TCP lane to relay {relay} not available: its QUIC link carries every flow; " +
          "retrying quietly",
        { relay: target.address },
      );
    }
    down = lane && !end.authenticated;
    return end;
  };
  return keepConnected(session, {
    label: lane ? `${target.address} (TCP lane)` : target.address,
    log: linkLog,
    signal: deps.signal,
    minMs: deps.config.reconnect_min_ms,
    maxMs: deps.config.reconnect_max_ms,
  });
}

/**
 * Whether a relay gets a TCP lane beside the QUIC link: `tcp_lane` with transport "auto" and no
 * HTTP proxy for it ("tcp" and a proxy already put everything on TCP; "quic" means QUIC only).
 */
function wantsLane(config: ConnectorConfig, address: string): boolean {
  return config.tcp_lane && config.transport === "auto" &&
    proxyPlan(config, address, "auto").transport === "auto";
}

/**
 * The direct-path listener on the endpoint the relay links dial from (the address the relay
 * observes is where clients punch to), serving flows as relayed ones are served.
 */
async function directListenerFor(
  config: ConnectorConfig,
  backends: BackendTable,
  udp: { budget: UdpBudget; drops: UdpDrops },
  state: DataPlaneState,
): Promise<DirectListener> {
  return new DirectListener({
    endpoint: new Deno.QuicEndpoint({ hostname: "0.0.0.0", port: config.direct_port }),
    cert: await makeEphemeralCert(),
    idleTimeoutMs: config.direct_idle_timeout_ms,
    punchTimeoutMs: config.direct_punch_timeout_ms,
    flows: directConnFlows({
      backends,
      connectTimeoutMs: config.connect_timeout_ms,
      udp: {
        ...udp,
        queueDepth: config.udp_queue_depth,
        idleMs: config.udp_idle_timeout_ms,
      },
      stats: state.stats,
      log,
    }),
    tracker: state,
    log,
  });
}
