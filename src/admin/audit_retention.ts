/**
 * Keeps the audit log from growing without bound: entries older than the retention period are
 * deleted at start and then every hour.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Store } from "../store/mod.ts";

const log = getLogger(["ztna", "admin", "audit"]);

/** How often the log is pruned while the relay runs. */
export const PRUNE_EVERY_MS = 60 * 60 * 1_000;

const DAY_MS = 24 * 60 * 60 * 1_000;

/** The cut-off: entries made before it are past their retention of `days`. */
export function retentionCutoff(nowMs: number, days: number): number {
  return nowMs - days * DAY_MS;
}

/** Prunes `store`'s audit log on a timer until stopped. */
export class AuditRetention {
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(
    readonly store: Store,
    readonly days: number,
    /** Counts what was deleted (a metric). */
    readonly onPruned: (count: number) => void,
    readonly now: () => number = Date.now,
  ) {}

  /** Prunes once now, then every {@link PRUNE_EVERY_MS}. */
  async start(): Promise<void> {
    await this.pruneOnce();
    this.#timer = setInterval(() => {
      this.#running = this.pruneOnce();
    }, PRUNE_EVERY_MS);
  }

  /** One pass; failures are logged and retried at the next pass, never thrown. */
  async pruneOnce(): Promise<void> {
    try {
      const count = await this.store.pruneAudit(retentionCutoff(this.now(), this.days));
      this.onPruned(count);
      if (count > 0) {
        log.info("Deleted {count} audit entries older than {days} days", {
          count,
          days: this.days,
        });
      }
    } catch (error) {
      log.error("Audit log pruning failed, retrying in an hour: {error}", { error: String(error) });
    }
  }

  /** Stops the timer and waits for a pass under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }
}
