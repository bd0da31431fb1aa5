/**
 * The relay's gate for connections, on either transport: draining, the connection cap and the
 * global handshake rate before any crypto work, the per-source rate after the handshake, and the
 * per-identity connection cap after HELLO. Decisions come from admission.ts; refusals are reported
 * through the observer.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { IntermediateConfig } from "../config/schema.ts";
import { admitConnection, admitHandshakeRate, admitSource, type Refusal } from "./admission.ts";
import type { RefusalObserver } from "./refusal_observer.ts";
import type { RelayMetrics } from "./relay_metrics.ts";
import { KeyedRateLimiter } from "./token_bucket.ts";

/** What the gate reads of the relay it guards. */
export interface ConnectionGateDeps {
  limits: IntermediateConfig["limits"];
  draining(): boolean;
  /** Live sessions, against `max_connections`. */
  sessions(): number;
  clock(): number;
  observer: RefusalObserver;
  metrics: RelayMetrics;
  log: Logger;
}

/** Counts and rates for admitting connections; one per relay. */
export class ConnectionGate {
  readonly #deps: ConnectionGateDeps;
  readonly #handshakes: KeyedRateLimiter;
  readonly #handshakesPerSource: KeyedRateLimiter;
  readonly #perIdentity = new Map<string, number>();
  /** Sessions holding an identity slot, by the identity they hold it for. */
  readonly #admitted = new WeakMap<object, string>();

  constructor(deps: ConnectionGateDeps) {
    this.#deps = deps;
    this.#handshakes = new KeyedRateLimiter({
      perSecond: deps.limits.handshakes_per_second,
      maxKeys: 1,
    });
    this.#handshakesPerSource = new KeyedRateLimiter({
      perSecond: deps.limits.handshakes_per_second_per_source,
      burst: deps.limits.handshake_burst_per_source,
    });
  }

  /** Draining, connection cap and global handshake rate, before any crypto work. */
  beforeHandshake(): boolean {
    const { limits } = this.#deps;
    let admission = admitConnection({
      draining: this.#deps.draining(),
      sessions: this.#deps.sessions(),
      maxConnections: limits.max_connections,
    });
    if (admission.allow) {
      // Taken only now: a draining or full relay spends no handshake tokens.
      const allowed = this.#handshakes.take("all", this.#deps.clock());
      admission = admitHandshakeRate(allowed, limits.handshakes_per_second);
    }
    if (!admission.allow) this.#refuse(admission, "before the handshake");
    return admission.allow;
  }

  /** The per-source handshake rate of a new connection from `source`. */
  afterHandshake(source: string): boolean {
    const { handshakes_per_second_per_source: rate, handshake_burst_per_source: burst } =
      this.#deps.limits;
    const admission = admitSource(
      this.#handshakesPerSource.take(source, this.#deps.clock()),
      rate,
      burst,
    );
    if (!admission.allow) {
      this.#refuse(admission, "right after the handshake");
      this.#deps.log.debug("Closed a connection from {source}: handshakes_per_second_per_source", {
        source,
      });
    }
    return admission.allow;
  }

  /** Takes a connection slot of `identity` for `session`; false at `max_connections_per_identity`. */
  admitIdentity(session: object, identity: string): boolean {
    const n = this.#perIdentity.get(identity) ?? 0;
    if (n >= this.#deps.limits.max_connections_per_identity) return false;
    this.#perIdentity.set(identity, n + 1);
    this.#admitted.set(session, identity);
    return true;
  }

  /** Gives back the slot `session` holds, if any. */
  release(session: object): void {
    const identity = this.#admitted.get(session);
    if (identity === undefined) return;
    this.#admitted.delete(session);
    const n = (this.#perIdentity.get(identity) ?? 1) - 1;
    if (n <= 0) this.#perIdentity.delete(identity);
    else this.#perIdentity.set(identity, n);
  }

  /** Reports a connection refused before it could say HELLO (no address at info: I1), throttled. */
  #refuse(refusal: Refusal, stage: string): void {
    const { code, why: limit, rateLimit } = refusal;
    this.#deps.observer.refuse({
      code,
      ...(rateLimit ? { rateLimit } : { counter: this.#deps.metrics.authFailures }),
      message: "Refused {count} connection(s) {stage}: {code} ({limit})",
      properties: { stage, code, limit },
      throttle: `${code} ${limit}`,
    });
  }
}
