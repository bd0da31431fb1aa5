/**
 * Whether the relay's view of the shared store is fresh enough to admit peers (zero trust: a
 * revocation made on another relay must not be missed for long). Every successful round trip
 * (the fleet heartbeat: a write and a read) marks the store fresh; once the last one is older than
 * `max_staleness_ms` the relay fails closed for new authentications, and opens again at the next
 * success. Established sessions are untouched.
 * @module
 */

/** Options of {@link StoreHealth}. */
export interface StoreHealthOptions {
  maxStalenessMs: number;
  /** Called when the store becomes stale (`true`) or fresh again (`false`). */
  onChange: (stale: boolean, ageMs: number) => void;
  /** @default {Date.now} */
  clock?: () => number;
}

/** Freshness of the store. */
export class StoreHealth {
  readonly #clock: () => number;
  #lastOkAt: number;
  #stale = false;
  #reachable = true;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(readonly options: StoreHealthOptions) {
    this.#clock = options.clock ?? Date.now;
    this.#lastOkAt = this.#clock();
  }

  /** Checks the age a few times per staleness period. */
  start(): void {
    const every = Math.max(100, Math.min(1_000, this.options.maxStalenessMs / 4));
    this.#timer = setInterval(() => this.check(), every);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** A round trip to the store succeeded or failed. */
  report(ok: boolean): void {
    this.#reachable = ok;
    if (!ok) return this.check();
    this.#lastOkAt = this.#clock();
    if (this.#stale) {
      this.#stale = false;
      this.options.onChange(false, 0);
    }
  }

  /** Fails closed once the last success is too old. */
  check(): void {
    const age = this.ageMs;
    if (!this.#stale && age > this.options.maxStalenessMs) {
      this.#stale = true;
      this.options.onChange(true, age);
    }
  }

  /** Milliseconds since the last successful round trip. */
  get ageMs(): number {
    return Math.max(0, this.#clock() - this.#lastOkAt);
  }

  /** The last round trip succeeded. */
  get reachable(): boolean {
    return this.#reachable;
  }

  /** New authentications are refused. */
  get stale(): boolean {
    return this.#stale;
  }
}
