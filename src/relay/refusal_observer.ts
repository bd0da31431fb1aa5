/**
 * One call per refusal: counts it in the right labelled counter (and `ztna_rate_limited_total` when a
 * rate limit bit), keeps it for the admin view's recent refusals, and logs it — throttled where
 * refusals come in floods — so no refusal site counts, records or logs by hand.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ErrorCode } from "../protocol/mod.ts";
import type { RateLimit } from "./admission.ts";
import { LogThrottle } from "./log_throttle.ts";
import type { LabelledCounter, RelayMetrics } from "./relay_metrics.ts";
import type { RefusalEvent, RefusalLog } from "./refusal_log.ts";

/** One refusal as the site that made it knows it. */
export interface RefusalReport {
  code: ErrorCode;
  /** The counter this refusal moves, labelled with `label` (the code unless given). */
  counter?: LabelledCounter;
  label?: string;
  /** The rate limit that refused, also counted in `ztna_rate_limited_total{limit}`. */
  rateLimit?: RateLimit;
  identity?: string;
  service?: string;
  connId?: string;
  /** The access-policy rule that decided ("no grant" when none granted); for operators only. */
  rule?: string;
  /** Kept in the admin view's recent refusals. @default {true} */
  record?: boolean;
  /** The log line: a logtape template and its properties. */
  message: string;
  properties?: Record<string, unknown>;
  /** @default {"warn"} */
  level?: "warn" | "info" | "debug";
  /** The logger with the site's context (connection id, identity). @default {the relay's} */
  logger?: Logger;
  /**
   * Floods: log at most one line per this key and 10 s; the line gets the number of refusals it
   * stands for as `{count}`.
   */
  throttle?: string;
}

/** What the observer reports to. */
export interface RefusalObserverDeps {
  metrics: RelayMetrics;
  refusals: RefusalLog;
  log: Logger;
  clock: () => number;
  /**
   * Receives every refusal an access-policy rule decided, for the audit log (the relay's runner
   * writes it to the store, budgeted). @default {none}
   */
  audit?: (event: RefusalEvent) => void;
}

/** Counts, records and logs refusals. */
export class RefusalObserver {
  readonly #lines = new LogThrottle();
  constructor(readonly deps: RefusalObserverDeps) {}

  /** Reports one refusal; never throws. */
  refuse(r: RefusalReport): void {
    const { metrics, refusals, log, clock } = this.deps;
    const now = clock();
    r.counter?.inc(r.label ?? r.code);
    if (r.rateLimit) metrics.rateLimited.inc(r.rateLimit);
    const event: RefusalEvent = {
      at: now,
      code: r.code,
      ...(r.identity ? { identity: r.identity } : {}),
      ...(r.service ? { service: r.service } : {}),
      ...(r.connId ? { connId: r.connId } : {}),
      ...(r.rule ? { rule: r.rule } : {}),
    };
    if (r.record !== false) refusals.record(event);
    if (r.rule !== undefined) this.deps.audit?.(event);
    let properties = r.rule === undefined ? r.properties ?? {} : { ...r.properties, rule: r.rule };
    if (r.throttle !== undefined) {
      const count = this.#lines.hit(r.throttle, now);
      if (count === 0) return;
      properties = { ...properties, count };
    }
    // The rule goes into the line itself, so text logs name it too (never to the peer).
    const message = r.rule === undefined ? r.message : `${r.message} (rule {rule})`;
    (r.logger ?? log)[r.level ?? "warn"](message, properties);
  }
}
