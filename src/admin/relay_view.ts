/**
 * What the admin endpoint needs from a running relay, as an interface: src/relay/relay_admin.ts
 * builds it over the real Relay, unit tests build a fake one. Keeps src/admin free of relay
 * internals (and free of an import cycle: the relay starts the admin server, not the other way
 * round).
 * @module
 */
import type { ConnectionInfo, FleetRelayInfo, RefusalInfo, ServiceInfo } from "./api_schemas.ts";
import type { MetricFamily } from "./prometheus.ts";

/** A live, read-mostly view of the relay for the admin API. */
export interface RelayView {
  /** Every open peer connection, authenticated or not. */
  connections(): ConnectionInfo[];
  /** Every service with its connector pool. */
  services(): ServiceInfo[];
  /** The most recent refusals, newest first, at most `limit`. */
  refusals(limit: number): RefusalInfo[];
  /** Refusals recorded since start, including those no longer kept. */
  refusalsTotal(): number;
  /** Flows open right now. */
  activeFlows(): number;
  /** Closes one connection with "kicked"; undefined when there is no such connection. */
  kick(connId: string): { identity: string } | undefined;
  /**
   * Adds a token id to the relay's revocation set (beside the revocation file's) and closes its
   * live connections with token_revoked at once; resolves with how many were closed.
   */
  revoke(tokenId: string): number;
  /** The relay's own counters and gauges. */
  metricFamilies(): MetricFamily[];
  /** True while the QUIC listener accepts connections. */
  listening(): boolean;
  /** True once shutdown began. */
  draining(): boolean;
  /** The fleet's relays as this relay last read them (itself alone with the embedded store). */
  fleet(): FleetRelayInfo[];
}
