/**
 * The client's counters for its local status endpoint (`[client] status_listen`): flows by service,
 * path and protocol (TCP and UDP), bytes, flows dropped and why, UDP datagrams dropped, proxy
 * endpoint connections refused for their credentials; rendered as Prometheus text and as JSON.
 * @module
 */
import { promLabel, PromText } from "../runtime/status_endpoint.ts";

/** How a flow reached its service. */
export type FlowPath = "relay" | "direct";

/** What a flow carries: a TCP connection, or the datagrams of one local UDP source. */
export type FlowProtocol = "tcp" | "udp";

/**
 * Why a proxy endpoint refused a connection's credentials: they were wrong, or its address was
 * blocked for guessing (`[client] endpoint_auth_failures`) and they were not looked at.
 */
export type EndpointAuthRefusal = "wrong_credentials" | "blocked";

/** Counts of one service on one path. */
interface PathCounts {
  opened: number;
  active: number;
  sentBytes: number;
  receivedBytes: number;
}

/** What the status endpoint reports beside the counters, read when it is asked. */
export interface ClientLiveState {
  /** The relay `host:port` of the current session, or undefined while reconnecting. */
  relay: string | undefined;
  /** Connections to that relay (the session's first one and the extra ones of its pool). */
  relayConnections: number;
  /** The transport of the current session: QUIC, or TLS over TCP where UDP is blocked. */
  transport: "quic" | "tcp" | undefined;
  forwards: Array<{ listen: string; service: string; protocol: string }>;
  socks: string | undefined;
  httpProxy: string | undefined;
}

/**
 * Counters of one client process. A module singleton: the client runs once per sandbox Worker,
 * and openFlow (used by forwards and proxy endpoints alike) counts without extra plumbing.
 */
export class ClientStats {
  readonly #paths = new Map<string, PathCounts>();
  readonly #drops = new Map<string, number>();
  readonly #datagramDrops = new Map<string, number>();
  /** By endpoint (`socks`, `http`) and reason. */
  readonly #authRefused = new Map<string, number>();
  readonly startedAt = Date.now();

  #counts(service: string, path: FlowPath, protocol: FlowProtocol): PathCounts {
    const key = `${service}\u0000${path}\u0000${protocol}`;
    let counts = this.#paths.get(key);
    if (!counts) {
      counts = { opened: 0, active: 0, sentBytes: 0, receivedBytes: 0 };
      this.#paths.set(key, counts);
    }
    return counts;
  }

  /** A flow opened (its REPLY said yes). */
  flowOpened(service: string, path: FlowPath, protocol: FlowProtocol = "tcp"): void {
    const counts = this.#counts(service, path, protocol);
    counts.opened++;
    counts.active++;
  }

  /** That flow ended, having sent and received these payload bytes. */
  flowEnded(
    service: string,
    path: FlowPath,
    sent: number,
    received: number,
    protocol: FlowProtocol = "tcp",
  ): void {
    const counts = this.#counts(service, path, protocol);
    counts.active = Math.max(0, counts.active - 1);
    counts.sentBytes += sent;
    counts.receivedBytes += received;
  }

  /** A UDP datagram of `service` dropped at this client (queue full, oversize, flow limit…). */
  datagramDropped(service: string, reason: string): void {
    const key = `${service}\u0000${reason}`;
    this.#datagramDrops.set(key, (this.#datagramDrops.get(key) ?? 0) + 1);
  }

  /**
   * A local connection (or UDP source) got no flow: `reason` is the refusal code or `no_relay`.
   */
  dropped(service: string, reason: string): void {
    const key = `${service}\u0000${reason}`;
    this.#drops.set(key, (this.#drops.get(key) ?? 0) + 1);
  }

  /** A proxy endpoint (`socks` or `http`) refused a connection for its credentials. */
  endpointAuthRefused(endpoint: "socks" | "http", reason: EndpointAuthRefusal): void {
    const key = `${endpoint}\u0000${reason}`;
    this.#authRefused.set(key, (this.#authRefused.get(key) ?? 0) + 1);
  }

  /** Everything as one JSON-able object (`/status`). */
  snapshot(live: ClientLiveState): Record<string, unknown> {
    const flows = [...this.#paths].map(([key, c]) => {
      const [service, path, protocol] = key.split("\u0000");
      return { service, path, protocol, ...c };
    });
    const drops = [...this.#drops].map(([key, count]) => {
      const [service, reason] = key.split("\u0000");
      return { service, reason, count };
    });
    return {
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      relay: live.relay ?? null,
      connected: live.relay !== undefined,
      relay_connections: live.relayConnections,
      transport: live.transport ?? null,
      forwards: live.forwards,
      socks: live.socks ?? null,
      http_proxy: live.httpProxy ?? null,
      flows,
      drops,
      udp_datagram_drops: [...this.#datagramDrops].map(([key, count]) => {
        const [service, reason] = key.split("\u0000");
        return { service, reason, count };
      }),
      endpoint_auth_refused: [...this.#authRefused].map(([key, count]) => {
        const [endpoint, reason] = key.split("\u0000");
        return { endpoint, reason, count };
      }),
    };
  }

  /** Prometheus text exposition format 0.0.4 (`/metrics`). */
  prometheus(live: ClientLiveState): string {
    const paths = [...this.#paths].map(([key, c]) => {
      const [service, path, protocol] = key.split("\u0000");
      return { labels: `service="${promLabel(service)}",path="${path}",protocol="${protocol}"`, c };
    });
    return new PromText()
      .metric("ztna_client_relay_connected", "gauge", "1 while a relay session is up", [
        `ztna_client_relay_connected ${live.relay === undefined ? 0 : 1}`,
      ])
      .metric("ztna_client_relay_connections", "gauge", "Connections to the relay in use", [
        `ztna_client_relay_connections ${live.relayConnections}`,
      ])
      .metric(
        "ztna_client_relay_transport",
        "gauge",
        "1 for the transport of the relay session in use (quic, or tcp where UDP is blocked)",
        (["quic", "tcp"] as const).map((t) =>
          `ztna_client_relay_transport{transport="${t}"} ${live.transport === t ? 1 : 0}`
        ),
      )
      .metric(
        "ztna_client_flows_opened_total",
        "counter",
        "Flows opened, by service, path and protocol",
        paths.map(({ labels, c }) => `ztna_client_flows_opened_total{${labels}} ${c.opened}`),
      )
      .metric(
        "ztna_client_flows_active",
        "gauge",
        "Flows open now, by service, path and protocol",
        paths.map(({ labels, c }) => `ztna_client_flows_active{${labels}} ${c.active}`),
      )
      .metric(
        "ztna_client_bytes_total",
        "counter",
        "Payload bytes of ended flows, by service, path, protocol and direction",
        paths.flatMap(({ labels, c }) => [
          `ztna_client_bytes_total{${labels},direction="sent"} ${c.sentBytes}`,
          `ztna_client_bytes_total{${labels},direction="received"} ${c.receivedBytes}`,
        ]),
      )
      .metric(
        "ztna_client_drops_total",
        "counter",
        "Local connections (or UDP sources) that got no flow, by service and reason",
        byServiceAndReason("ztna_client_drops_total", this.#drops),
      )
      .metric(
        "ztna_client_udp_datagram_drops_total",
        "counter",
        "UDP datagrams dropped at this client, by service and reason",
        byServiceAndReason("ztna_client_udp_datagram_drops_total", this.#datagramDrops),
      )
      .metric(
        "ztna_client_endpoint_auth_refused_total",
        "counter",
        "Proxy endpoint connections refused for their credentials, by endpoint and reason " +
          "(wrong_credentials, or blocked: the address made too many wrong guesses)",
        [...this.#authRefused].map(([key, count]) => {
          const [endpoint, reason] = key.split("\u0000");
          return `ztna_client_endpoint_auth_refused_total{endpoint="${endpoint}",reason="${reason}"} ${count}`;
        }),
      )
      .toString();
  }
}

/** The client's counters (one client per process and sandbox Worker). */
export const clientStats = new ClientStats();

/** Sample lines of counter `name` over counts keyed by service and reason. */
function byServiceAndReason(name: string, counts: Map<string, number>): string[] {
  return [...counts].map(([key, count]) => {
    const [service, reason] = key.split("\u0000");
    return `${name}{service="${promLabel(service)}",reason="${promLabel(reason)}"} ${count}`;
  });
}
