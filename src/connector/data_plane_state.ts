/**
 * What one egress Worker's relay links share for a reload: the live sessions (a drain unregisters
 * every service on each), the answers to the first registrations (the Worker is ready once every
 * relay answered them all) and the flows in progress (a draining Worker stops when none is left).
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { BackendTable } from "./backend_dialer.ts";
import { type ControlMessageInput, UNREGISTER_VERSION } from "../protocol/mod.ts";
import { ConnectorStats, type WorkerStats } from "./connector_stats.ts";
import type { UdpDrops } from "./udp_flows.ts";

/** One live relay session as the drain sees it. */
export interface LinkControl {
  relay: string;
  /** The protocol version of its WELCOME. */
  version: number;
  /** Services the relay ACKed on this session and that were not unregistered since. */
  services: Set<string>;
  send(msg: ControlMessageInput): Promise<void>;
  /** Ends the session (only for a relay that cannot unregister). */
  close(): void;
}

/** The reload-facing state of one data plane. */
export class DataPlaneState {
  readonly links = new Set<LinkControl>();
  /** Flow counters for the status endpoint. */
  readonly stats = new ConnectorStats();
  readonly #answered = new Map<string, Set<string>>();
  #active = 0;
  #draining = false;
  #ready = false;

  constructor(
    readonly backends: BackendTable,
    readonly relayCount: number,
    readonly log: Logger,
    readonly hooks: { onReady?: () => void; onIdle?: () => void } = {},
    readonly udpDrops?: UdpDrops,
  ) {}

  /** Whether this data plane is draining (it serves what it has and takes nothing new). */
  get draining(): boolean {
    return this.#draining;
  }

  /** Flow streams open on every link of this data plane. */
  get activeFlows(): number {
    return this.#active;
  }

  /** The relay answered (ACK or NACK) the registration of `service`. */
  answered(relay: string, service: string): void {
    const set = this.#answered.get(relay) ?? new Set<string>();
    set.add(service);
    this.#answered.set(relay, set);
    if (this.#ready || this.#answered.size < this.relayCount) return;
    const all = this.backends.services;
    if ([...this.#answered.values()].every((s) => all.every((id) => s.has(id)))) {
      this.#ready = true;
      this.hooks.onReady?.();
    }
  }

  flowStarted(): void {
    this.#active++;
  }

  flowEnded(): void {
    this.#active = Math.max(0, this.#active - 1);
    this.#checkIdle();
  }

  /**
   * Stops taking flows: every service leaves the allow-list (a flow racing the unregister is
   * refused `unknown_service`) and is unregistered on every link; a link to a relay older than
   * UNREGISTER ends (its flows with it). The data plane is idle once its last flow ends.
   */
  async drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    const services = this.backends.services;
    for (const id of services) this.backends.remove(id);
    for (const link of [...this.links]) {
      if (link.version < UNREGISTER_VERSION) {
        this.log.warn(
          "Relay {relay} speaks protocol {version}, which cannot unregister: ending that session",
          { relay: link.relay, version: link.version },
        );
        link.close();
        continue;
      }
      for (const service of services) {
        await link.send({ type: "unregister", service }).catch(() => {});
      }
    }
    this.#checkIdle();
  }

  /** Everything the status endpoint reports about this data plane. */
  snapshot(): WorkerStats {
    return {
      draining: this.#draining,
      links: [...this.links].map((l) => ({
        relay: l.relay,
        version: l.version,
        services: [...l.services],
      })),
      ...this.stats.counters(),
      udpDrops: [...(this.udpDrops?.counts ?? [])].map(([reason, count]) => ({ reason, count })),
    };
  }

  #checkIdle(): void {
    if (this.#draining && this.#active === 0) this.hooks.onIdle?.();
  }
}
