/**
 * Which relay the client uses: its configured relays, then those learnt from the fleet (FLEET
 * messages) that `learn_relays` admits, one at a time; the next one after a relay refused us,
 * vanished, or said it drains. On DRAIN the attempt ends at once, so the client dials the next
 * relay while the drained session keeps carrying its running flows until that relay closes it.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { RelayTargetConfig } from "../config/schema.ts";
import { matchesNetPattern, type NetPattern } from "../config/net_pattern.ts";
import type { ControlMessage } from "../protocol/mod.ts";
import type { SessionEnd } from "../transport/mod.ts";

/** The client's relay list and where it stands in it. */
export class RelayRotation {
  #learnt: RelayTargetConfig[] = [];
  #current: RelayTargetConfig;
  /** Addresses the last FLEET listed (lowercase); undefined before one arrived. */
  #live: Set<string> | undefined;
  /** Drained sessions still carrying flows; they end when their relay closes them. */
  readonly lingering = new Set<Promise<SessionEnd>>();

  constructor(
    readonly configured: readonly RelayTargetConfig[],
    readonly options: { patterns: readonly NetPattern[]; log: Logger },
  ) {
    this.#current = configured[0];
  }

  /** Configured relays first, then learnt ones. */
  list(): RelayTargetConfig[] {
    return [...this.configured, ...this.#learnt];
  }

  /** The relay to dial now. */
  get current(): RelayTargetConfig {
    return this.#current;
  }

  /**
   * Moves to the next relay (wrapping), skipping those the last FLEET did not list as live (a
   * drained or dead configured relay) while any listed one is left.
   */
  advance(): void {
    const list = this.list();
    const at = list.findIndex((t) => t.address === this.#current.address);
    const live = this.#live;
    for (let step = 1; step <= list.length; step++) {
      const next = list[(at + step) % list.length];
      if (live === undefined || live.has(next.address.toLowerCase())) {
        this.#current = next;
        return;
      }
    }
    this.#current = list[(at + 1) % list.length];
  }

  /**
   * Handles FLEET (learns) and DRAIN (calls `drained`); true when `msg` was one of them. Learnt
   * relays replace the previous ones; configured relays and addresses outside `learn_relays`
   * are left out.
   */
  onControl(msg: ControlMessage, drained: () => void): boolean {
    if (msg.type === "drain") {
      // With no other relay to go to, the session stays until the relay closes it.
      if (this.list().length > 1) drained();
      return true;
    }
    if (msg.type !== "fleet") return false;
    // An empty list says nothing about which relays live (none advertises an address).
    this.#live = msg.relays.length === 0
      ? undefined
      : new Set(msg.relays.map((r) => r.address.toLowerCase()));
    const configured = new Set(this.configured.map((t) => t.address.toLowerCase()));
    const learnt = msg.relays.filter((r) =>
      !configured.has(r.address.toLowerCase()) &&
      this.options.patterns.some((p) => matchesNetPattern(p, r.address))
    ).map((r): RelayTargetConfig => ({
      address: r.address,
      ...(r.server_name === undefined ? {} : { server_name: r.server_name }),
    }));
    const before = this.#learnt.map((t) => t.address).join(",");
    this.#learnt = learnt;
    const after = learnt.map((t) => t.address).join(",");
    if (before !== after) {
      this.options.log.info("Relays learnt from the fleet: {relays}", { relays: after || "none" });
    }
    return true;
  }

  /**
   * Runs one session attempt; resolves with `going_away` as soon as its relay says DRAIN (the
   * session itself runs on, in {@link lingering}). Moves to the next relay after a refusal, a
   * drain, or a relay that vanished.
   */
  async attempt(run: (drained: () => void) => Promise<SessionEnd>): Promise<SessionEnd> {
    const drain = Promise.withResolvers<SessionEnd>();
    let drained = false;
    const running = run(() => {
      drained = true;
      drain.resolve({ authenticated: true, code: "going_away" });
    });
    const end = await Promise.race([running, drain.promise]);
    if (drained) {
      this.lingering.add(running);
      void running.finally(() => this.lingering.delete(running));
    }
    if (!end.authenticated || end.code === "going_away" || end.code === undefined) this.advance();
    return end;
  }
}
