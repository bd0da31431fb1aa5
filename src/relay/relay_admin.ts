/**
 * The relay's admin side: the view src/admin gets of the relay (connections, services, refusals,
 * fleet, kick and revoke), the admin endpoint started on it, and the audit log's retention.
 * @module
 */
import type { TokenVerifier } from "../auth/mod.ts";
import { formatHostPort } from "../config/mod.ts";
import type { IntermediateConfig } from "../config/schema.ts";
import { AdminEndpoint, AuditRetention, type MetricFamily, type RelayView } from "../admin/mod.ts";
import type { Store } from "../store/mod.ts";
import { linkTransport } from "../transport/mod.ts";
import type { PeerSession } from "./peer_session.ts";
import type { Relay, TlsMaterial } from "./relay.ts";
import type { RelayFleet } from "./relay_fleet.ts";
import { relayMetricFamilies } from "./relay_metrics.ts";
import type { RevocationSources } from "./revocation_watcher.ts";
import type { FleetMember } from "./fleet_membership.ts";

/** The admin endpoint's view of the relay (src/admin knows the relay only through this). */
function adminView(
  relay: Relay,
  revocations: RevocationSources,
  fleet: { metrics: () => MetricFamily[]; members: () => FleetMember[] },
): RelayView {
  /** Services served at some point since start: shown "down" when their pool empties. */
  const seen = new Set<string>();
  const remote = (s: PeerSession) => {
    try {
      return formatHostPort(s.conn.remoteAddr);
    } catch {
      return "?";
    }
  };
  return {
    connections: () =>
      [...relay.sessions].map((s) => ({
        connId: s.connId,
        identity: s.identity,
        role: s.role ?? "pending",
        remote: remote(s),
        services: [...s.services],
        path: [...s.paths.values()].includes("direct") ? "direct" as const : "relay" as const,
        transport: linkTransport(s.conn),
        bytesIn: s.counters.bytesFromPeer,
        bytesOut: s.counters.bytesToPeer,
        activeFlows: s.activeFlows,
        since: s.connectedAt,
        ...(s.tokenId === undefined ? {} : { tokenId: s.tokenId }),
      })),
    services: () => {
      for (const service of relay.registry.services()) seen.add(service);
      return [...seen].sort().map((service) => {
        const members = relay.registry.members(service).map((m) => ({
          connId: m.connId,
          identity: m.identity,
          activeFlows: m.activeFlows,
        }));
        return { service, health: members.length > 0 ? "up" as const : "down" as const, members };
      });
    },
    refusals: (limit) => relay.refusals.recent(limit),
    refusalsTotal: () => relay.refusals.total,
    activeFlows: () => relay.metrics.activeFlows,
    kick: (connId) => {
      const session = [...relay.sessions].find((s) => s.connId === connId);
      return session !== undefined && relay.kick(connId)
        ? { identity: session.identity }
        : undefined;
    },
    revoke: (tokenId) => revocations.addStored([tokenId]),
    metricFamilies: () => [...relayMetricFamilies(relay.metrics), ...fleet.metrics()],
    fleet: () =>
      fleet.members().map((m) => ({
        relayId: m.relayId,
        addresses: m.addresses,
        state: m.state,
        health: m.health,
        heartbeatAgeMs: m.heartbeatAgeMs,
        startedAt: m.startedAt,
        peers: m.peers,
        flows: m.flows,
        self: m.self,
      })),
    listening: () => relay.listening,
    draining: () => relay.draining,
  };
}

/** What the admin endpoint shows and works on. */
export interface AdminParts {
  relay: Relay;
  revocations: RevocationSources;
  fleet: RelayFleet;
  store: Store;
  tls: TlsMaterial;
  verifier: TokenVerifier;
}

/** Starts the admin endpoint (`[intermediate.admin]`, enabled) on the relay's view. */
export function startAdmin(config: IntermediateConfig, parts: AdminParts): Promise<AdminEndpoint> {
  const { relay, fleet } = parts;
  return AdminEndpoint.start({
    config: config.admin,
    relay: adminView(relay, parts.revocations, {
      metrics: () => fleet.metricFamilies(),
      members: () => fleet.members(),
    }),
    store: parts.store,
    tls: parts.tls,
    acceptedKeyIds: parts.verifier.keyIds,
  });
}

/** The audit log's retention (`admin.audit_retention_days`), pruned counts in the relay's metrics. */
export function auditRetention(
  config: IntermediateConfig,
  store: Store,
  relay: Relay,
): AuditRetention {
  return new AuditRetention(
    store,
    config.admin.audit_retention_days,
    (n) => relay.metrics.auditPruned.inc("retention", n),
  );
}
