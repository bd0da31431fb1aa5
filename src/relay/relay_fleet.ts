/**
 * A relay's part in the fleet, put together for the runner: the store's health (fail closed past
 * max_staleness_ms with a shared store), this relay's heartbeat row, FLEET to peers, and the stop
 * that lets peers move before the relay drains. Parts: fleet_membership.ts, fleet_announcer.ts,
 * store_health.ts, fleet_metrics.ts.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { MetricFamily } from "../admin/mod.ts";
import type { TokenVerifier } from "../auth/mod.ts";
import type { IntermediateConfig } from "../config/schema.ts";
import type { Store } from "../store/mod.ts";
import { FleetAnnouncer } from "./fleet_announcer.ts";
import { type FleetMember, FleetMembership } from "./fleet_membership.ts";
import { fleetMetricFamilies } from "./fleet_metrics.ts";
import type { Relay } from "./relay.ts";
import { StoreHealth } from "./store_health.ts";

const log = getLogger(["ztna", "relay"]);

/** How long a stop waits to mark this relay draining in the store: a dead database gets no more. */
const FLEET_DRAIN_WRITE_MS = 1_000;

/**
 * After DRAIN, how long the relay still admits new flows: what a peer sent before it heard DRAIN
 * arrives within a round trip, and a client has moved by then (its next relay is already linked).
 */
const MOVE_GRACE_MS = 1_000;

/** The running fleet parts. */
export interface RelayFleet {
  /** The fleet as last read, for the admin view. */
  members(): FleetMember[];
  /** Fleet and store-health metric families. */
  metricFamilies(): MetricFamily[];
  /** Tells peers to move (DRAIN, the row marked draining), then waits while they do. */
  movePeers(): Promise<void>;
}

/**
 * Starts the fleet parts; each is stopped by `stack`.
 * A first heartbeat that fails is logged and retried, never thrown.
 */
export async function joinFleet(options: {
  config: IntermediateConfig;
  store: Store;
  relay: Relay;
  verifier: TokenVerifier;
  stack: AsyncDisposableStack;
}): Promise<RelayFleet> {
  const { config, store, relay, verifier, stack } = options;
  // A shared store that stops answering: keep sessions, admit on cached revocations for
  // max_staleness_ms, then refuse new authentications until it answers again (zero trust).
  const storeHealth = config.store.kind === "postgres"
    ? new StoreHealth({
      maxStalenessMs: config.store.max_staleness_ms,
      onChange: (stale, ageMs) => {
        verifier.failClosed(stale ? `state store unreachable for ${ageMs} ms` : undefined);
        if (stale) {
          log.error(
            "The state store has not answered for {ageMs} ms (max_staleness_ms): refusing new " +
              "authentications with state_unavailable; established sessions go on",
            { ageMs },
          );
        } else log.info("The state store answers again: admitting new authentications");
      },
    })
    : undefined;
  storeHealth?.start();
  stack.defer(() => storeHealth?.stop());
  // This relay's heartbeat row, and the live relays told to peers that speak FLEET.
  const announcer = new FleetAnnouncer(() => relay.sessions);
  const fleet = new FleetMembership({
    config: config.fleet,
    store,
    load: () => ({
      peers: [...relay.sessions].filter((s) => s.welcomed).length,
      flows: relay.metrics.activeFlows,
    }),
    onChange: (relays) => announcer.set(relays),
    onRoundTrip: (ok) => storeHealth?.report(ok),
  });
  stack.defer(() => fleet.stop());
  stack.defer(() => announcer.stop());
  announcer.start();
  await fleet.start();
  return {
    members: () => fleet.members(),
    metricFamilies: () => fleetMetricFamilies(fleet, storeHealth),
    movePeers: async () => {
      const told = announcer.drain();
      // Read before this relay's own row says draining: is there anywhere for peers to go?
      const elsewhere = fleet.members().some((m) => !m.self && m.health === "up");
      await Promise.race([fleet.drain(), new Promise((r) => setTimeout(r, FLEET_DRAIN_WRITE_MS))]);
      // A flow a peer opened before it heard DRAIN is still admitted for this long, while peers
      // move to another live relay; then the usual drain refuses new ones. Alone, there is
      // nowhere to go.
      if (told > 0 && elsewhere) {
        await new Promise((r) => setTimeout(r, Math.min(MOVE_GRACE_MS, config.drain_timeout_ms)));
      }
    },
  };
}
