/**
 * The connector's links: one reconnecting session per configured relay, plus one per relay learnt
 * from the fleet (FLEET messages) whose address `learn_relays` admits. A learnt relay is dialled
 * like a configured one: the same CA, its advertised server name or its host checked (no new
 * trust). When a relay leaves the fleet its link is not cut: running flows finish, and it is not
 * redialled once it ends.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { RelayTargetConfig } from "../config/schema.ts";
import { matchesNetPattern, type NetPattern } from "../config/net_pattern.ts";
import type { FleetRelay } from "../protocol/mod.ts";

/** Runs a link's reconnect loop for `target` until `signal` aborts. */
export type LinkLoop = (target: RelayTargetConfig, signal: AbortSignal) => Promise<void>;

interface Learnt {
  stop: AbortController;
  /** Left the fleet: the loop ends after its current session instead of redialling. */
  retired: boolean;
  done: Promise<void>;
}

/** Configured links and learnt ones. */
export class FleetLinks {
  readonly #configured: Set<string>;
  readonly #learnt = new Map<string, Learnt>();
  readonly #running = new Set<Promise<void>>();

  constructor(
    readonly configured: readonly RelayTargetConfig[],
    readonly options: {
      patterns: readonly NetPattern[];
      loop: LinkLoop;
      signal: AbortSignal;
      log: Logger;
    },
  ) {
    this.#configured = new Set(configured.map((t) => t.address.toLowerCase()));
  }

  /** Starts the configured links; resolves once every link (learnt ones too) has ended. */
  async run(): Promise<void> {
    for (const target of this.configured) {
      this.#track(this.options.loop(target, this.options.signal));
    }
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  /** Learnt relays now linked (for logs and tests). */
  get learnt(): string[] {
    return [...this.#learnt].filter(([, l]) => !l.retired).map(([a]) => a);
  }

  /** A relay's FLEET: links to newly listed relays, retires those no longer listed. */
  learn(relays: readonly FleetRelay[]): void {
    if (this.options.signal.aborted) return;
    const wanted = new Map<string, FleetRelay>();
    for (const r of relays) {
      const key = r.address.toLowerCase();
      if (this.#configured.has(key)) continue;
      if (!this.options.patterns.some((p) => matchesNetPattern(p, r.address))) continue;
      wanted.set(key, r);
    }
    for (const [key, link] of this.#learnt) {
      if (!wanted.has(key) && !link.retired) {
        link.retired = true;
        this.options.log.info("Relay {relay} left the fleet: no redial once its link ends", {
          relay: key,
        });
      }
    }
    for (const [key, relay] of wanted) {
      const known = this.#learnt.get(key);
      if (known) {
        known.retired = false;
        continue;
      }
      this.#start(key, relay);
    }
  }

  #start(key: string, relay: FleetRelay): void {
    const stop = new AbortController();
    const signal = AbortSignal.any([this.options.signal, stop.signal]);
    const target: RelayTargetConfig = {
      address: relay.address,
      ...(relay.server_name === undefined ? {} : { server_name: relay.server_name }),
    };
    const link: Learnt = { stop, retired: false, done: Promise.resolve() };
    this.options.log.info("Linking to relay {relay}, learnt from the fleet", { relay: key });
    // The loop asks before each dial: a retired link stops instead of dialling again.
    link.done = this.options.loop(target, signal).finally(() => this.#learnt.delete(key));
    this.#learnt.set(key, link);
    this.#track(link.done);
  }

  /** True when a learnt link should stop rather than dial `address` again. */
  retired(address: string): boolean {
    const link = this.#learnt.get(address.toLowerCase());
    if (link?.retired) link.stop.abort();
    return link?.retired ?? false;
  }

  #track(p: Promise<void>): void {
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p));
  }
}
