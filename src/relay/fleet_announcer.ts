/**
 * Tells peers the fleet: FLEET (the live relays) to every peer that speaks version 5 or later,
 * once after WELCOME and again whenever the set changes; DRAIN to all of them when the relay
 * begins to stop. Older peers get neither (their decoder would take them for a protocol error).
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { type ControlMessageInput, FLEET_VERSION, type FleetRelay } from "../protocol/mod.ts";

const log = getLogger(["ztna", "relay", "fleet"]);

/** A peer session as the announcer sees it. */
export interface AnnounceTarget {
  readonly welcomed: boolean;
  readonly version: number;
  send(msg: ControlMessageInput): Promise<void>;
}

/**
 * How often new sessions are looked for: a peer learns the fleet this long after WELCOME at most.
 * Short beside a relay's failure detection (seconds), cheap beside a session's handshake.
 */
export const ANNOUNCE_SWEEP_MS = 250;

/** Sends FLEET and DRAIN to the sessions `sessions()` lists. */
export class FleetAnnouncer {
  #relays: FleetRelay[] = [];
  /** Which list each session was sent last (by identity of the array). */
  #told = new WeakMap<AnnounceTarget, FleetRelay[]>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(readonly sessions: () => Iterable<AnnounceTarget>) {}

  /** Starts looking for sessions that have not heard the current list. */
  start(): void {
    this.#timer = setInterval(() => this.#sweep(), ANNOUNCE_SWEEP_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The live relays changed: every session hears the new list now. */
  set(relays: FleetRelay[]): void {
    this.#relays = relays;
    this.#sweep();
  }

  /** Tells every session that this relay is stopping; they stop hearing fleet lists. */
  drain(): number {
    this.stop();
    let told = 0;
    for (const s of this.sessions()) {
      if (!s.welcomed || s.version < FLEET_VERSION) continue;
      told++;
      s.send({ type: "drain" }).catch(() => {});
    }
    log.info("Told {count} peer(s) that this relay drains", { count: told });
    return told;
  }

  #sweep(): void {
    const relays = this.#relays;
    for (const s of this.sessions()) {
      if (!s.welcomed || s.version < FLEET_VERSION || this.#told.get(s) === relays) continue;
      this.#told.set(s, relays);
      // A peer that is gone needs no list; its session ends on its own.
      s.send({ type: "fleet", relays }).catch(() => {});
    }
  }
}
