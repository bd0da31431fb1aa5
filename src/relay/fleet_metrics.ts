/**
 * Prometheus families of the fleet and the store's health: relays by health as this relay last
 * read them, and, with a shared store, whether it answers, how stale the relay's view is, and
 * whether new authentications are refused (fail closed).
 * @module
 */
import type { MetricFamily } from "../admin/mod.ts";
import type { FleetMembership, RelayHealth } from "./fleet_membership.ts";
import type { StoreHealth } from "./store_health.ts";

const HEALTHS: readonly RelayHealth[] = ["up", "draining", "stale"];

/** The families; `health` only with a shared store. */
export function fleetMetricFamilies(
  fleet: FleetMembership,
  health: StoreHealth | undefined,
): MetricFamily[] {
  const members = fleet.members();
  const families: MetricFamily[] = [{
    name: "ztna_fleet_relays",
    help: "Relays in the fleet table at the last heartbeat, by health (this one included)",
    type: "gauge",
    samples: HEALTHS.map((h) => ({
      labels: { health: h },
      value: members.filter((m) => m.health === h).length,
    })),
  }];
  if (!health) return families;
  const gauge = (name: string, help: string, value: number): MetricFamily => ({
    name,
    help,
    type: "gauge",
    samples: [{ labels: {}, value }],
  });
  return [
    ...families,
    gauge(
      "ztna_store_reachable",
      "1 when the last round trip to the shared store succeeded",
      health.reachable ? 1 : 0,
    ),
    gauge(
      "ztna_store_staleness_seconds",
      "Seconds since the last successful round trip to the shared store",
      health.ageMs / 1_000,
    ),
    gauge(
      "ztna_store_fail_closed",
      "1 while new authentications are refused: the store has been unreachable longer than max_staleness_ms",
      health.stale ? 1 : 0,
    ),
  ];
}
