/**
 * This relay's membership in the fleet: a heartbeat row in the store every `heartbeat_ms` (its
 * advertised addresses, state, peers and flows), a read of every row on the same tick, dead rows
 * (heartbeat older than `expiry_ms`) left out and later pruned, and the live relays' addresses
 * handed to the announcer whenever they change. On SIGTERM the row says `draining` (the other
 * relays stop advertising it at their next tick); when the relay stops, the row goes.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { FleetConfig } from "../config/schema.ts";
import type { FleetRelay } from "../protocol/mod.ts";
import type { FleetSnapshot, RelayRecord, Store } from "../store/mod.ts";

const log = getLogger(["ztna", "relay", "fleet"]);

/** Least time one heartbeat's round trip may take before it counts as failed. */
const MIN_ROUND_TRIP_BUDGET_MS = 2_000;

/** Dead rows stay this many expiry periods (shown as "stale" in the admin view), then go. */
const PRUNE_AFTER_EXPIRIES = 3;

/** How a relay of the fleet looks from here. */
export type RelayHealth = "up" | "draining" | "stale";

/** One row of the admin view. */
export interface FleetMember extends RelayRecord {
  /** Milliseconds since its last heartbeat, by the store's clock. */
  heartbeatAgeMs: number;
  health: RelayHealth;
  /** This relay. */
  self: boolean;
}

/** What {@link FleetMembership} needs. */
export interface FleetMembershipOptions {
  config: FleetConfig;
  store: Pick<Store, "heartbeatRelay" | "listRelays" | "removeRelay" | "pruneRelays">;
  /** Authenticated peers and running flows now, for the heartbeat. */
  load: () => { peers: number; flows: number };
  /** The live relays' addresses, whenever they change (first after {@link FleetMembership.start}). */
  onChange: (relays: FleetRelay[]) => void;
  /** @default {a random id} */
  relayId?: string;
  /** Told whether each heartbeat's round trip to the store succeeded (store_health.ts). */
  onRoundTrip?: (ok: boolean) => void;
}

/** Heartbeats and the fleet as last read. */
export class FleetMembership {
  readonly relayId: string;
  readonly startedAt = Date.now();
  #state: "up" | "draining" = "up";
  #snapshot: FleetSnapshot | undefined;
  #announced = "";
  #timer: ReturnType<typeof setInterval> | undefined;
  #tick: Promise<void> | undefined;
  #failing = false;
  #stopped = false;

  constructor(readonly options: FleetMembershipOptions) {
    this.relayId = options.relayId ?? crypto.randomUUID();
  }

  /** Writes the first heartbeat and reads the fleet, then keeps doing so every heartbeat_ms. */
  async start(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(() => void this.#beat(), this.options.config.heartbeat_ms);
  }

  /** Marks this relay draining in the store, so the others stop advertising it. */
  async drain(): Promise<void> {
    this.#state = "draining";
    await this.#beat();
  }

  /** Stops heartbeats and removes this relay's row. Never throws. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#tick;
    try {
      await this.options.store.removeRelay(this.relayId);
    } catch (error) {
      log.warn("Cannot remove this relay from the fleet table: {error}", { error: String(error) });
    }
  }

  /** Every relay as last read, with its age and health; empty before the first read. */
  members(): FleetMember[] {
    const snap = this.#snapshot;
    if (!snap) return [];
    return snap.relays.map((r) => {
      const age = Math.max(0, snap.now - r.heartbeatAt);
      const health: RelayHealth = age > this.options.config.expiry_ms ? "stale" : r.state;
      return { ...r, heartbeatAgeMs: age, health, self: r.relayId === this.relayId };
    });
  }

  /** Addresses of the live relays (up, heartbeat within expiry_ms), this one included. */
  live(): FleetRelay[] {
    const seen = new Set<string>();
    const out: FleetRelay[] = [];
    for (const m of this.members()) {
      if (m.health !== "up") continue;
      for (const a of m.addresses) {
        if (seen.has(a.address)) continue;
        seen.add(a.address);
        out.push(a.server_name === undefined ? { address: a.address } : { ...a });
      }
    }
    return out.sort((a, b) => a.address < b.address ? -1 : a.address > b.address ? 1 : 0);
  }

  /** One heartbeat at a time: a slow store never piles them up. */
  #beat(): Promise<void> {
    // A round trip stuck on a dead connection must not hold back the next ones: past its budget
    // it counts as failed and the next tick starts afresh (the stuck query ends on its own).
    const budget = Math.max(2 * this.options.config.heartbeat_ms, MIN_ROUND_TRIP_BUDGET_MS);
    this.#tick ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.options.onRoundTrip?.(false);
        resolve();
      }, budget);
      void this.#beatOnce().finally(() => {
        clearTimeout(timer);
        resolve();
      });
    }).finally(() => this.#tick = undefined);
    return this.#tick;
  }

  async #beatOnce(): Promise<void> {
    if (this.#stopped) return;
    const { store, config } = this.options;
    try {
      await store.heartbeatRelay({
        relayId: this.relayId,
        addresses: config.advertise,
        state: this.#state,
        startedAt: this.startedAt,
        ...this.options.load(),
      });
      const snapshot = await store.listRelays();
      this.#snapshot = snapshot;
      const cutoff = snapshot.now - PRUNE_AFTER_EXPIRIES * config.expiry_ms;
      if (snapshot.relays.some((r) => r.heartbeatAt < cutoff)) await store.pruneRelays(cutoff);
      if (this.#failing) log.info("The fleet table answers again");
      this.#failing = false;
      this.options.onRoundTrip?.(true);
    } catch (error) {
      this.options.onRoundTrip?.(false);
      // Logged once per outage: the relay keeps its last view of the fleet meanwhile.
      if (!this.#failing) {
        log.warn("Cannot write this relay's heartbeat or read the fleet: {error}", {
          error: String(error),
        });
      }
      this.#failing = true;
      return;
    }
    const live = this.live();
    const key = JSON.stringify(live);
    if (key !== this.#announced) {
      this.#announced = key;
      log.info("Fleet: {count} live relay address(es): {relays}", {
        count: live.length,
        relays: live.map((r) => r.address).join(", ") || "none advertised",
      });
      this.options.onChange(live);
    }
  }
}
