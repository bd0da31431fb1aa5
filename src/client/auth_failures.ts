/**
 * The guessing limit of the client's proxy endpoints (issue #18), pure: wrong credentials counted
 * per source address; a source with `maxFailures` of them, each within `windowMs` of the one
 * before, is blocked until `windowMs` has passed since its last one. Blocked connections present
 * no credentials, so they do not extend the block; a success resets nothing (not even its own
 * source's count: a legitimate program behind the same address must not wipe an attacker's
 * tally). The table is bounded: the source whose last failure is oldest is forgotten first.
 * @module
 */

/** The limits, from `[client] endpoint_auth_failures` and `endpoint_auth_window_ms`. */
export interface AuthFailureLimits {
  /** Wrong credentials from one source that block it. */
  maxFailures: number;
  /** How long failures are remembered, and a block lasts, after a source's last failure. */
  windowMs: number;
}

/** Options of {@link AuthFailures}. */
export interface AuthFailuresOptions extends AuthFailureLimits {
  /** Sources tracked at most (an attacker with many addresses cannot grow it). @default {10_000} */
  maxSources?: number;
  /** The clock, in milliseconds; replaced in tests. @default {Date.now} */
  now?: () => number;
}

/** Sources tracked by default: ~10,000 small entries, well under a megabyte. */
export const MAX_TRACKED_SOURCES = 10_000;

/** What {@link AuthFailures.failed} reports. */
export interface FailureCount {
  /** The source's failures in its current run (each within the window of the previous one). */
  failures: number;
  /** True for exactly the failure that blocked the source: the one to log. */
  blockedNow: boolean;
}

interface Entry {
  failures: number;
  lastMs: number;
}

/** Wrong credentials per source address, and which sources are blocked for now. */
export class AuthFailures {
  /** By source; insertion order is last-failure order (each failure re-inserts its entry). */
  readonly #sources = new Map<string, Entry>();
  readonly #maxSources: number;
  readonly #now: () => number;
  #limits: AuthFailureLimits;

  /** @throws {RangeError} when a limit is not a positive integer */
  constructor(options: AuthFailuresOptions) {
    const { maxSources = MAX_TRACKED_SOURCES, now = Date.now } = options;
    positive("maxSources", maxSources);
    this.#limits = checked(options);
    this.#maxSources = maxSources;
    this.#now = now;
  }

  /**
   * New limits (a config reload); counts so far are kept.
   * @throws {RangeError} when a limit is not a positive integer
   */
  setLimits(limits: AuthFailureLimits): void {
    this.#limits = checked(limits);
  }

  /** The limits in force. */
  get limits(): AuthFailureLimits {
    return { ...this.#limits };
  }

  /** Sources tracked now (blocked or not yet). */
  get size(): number {
    return this.#sources.size;
  }

  /** Whether `source` is blocked now: its connections are refused before credentials are read. */
  blocked(source: string): boolean {
    const entry = this.#live(sourceKey(source));
    return entry !== undefined && entry.failures >= this.#limits.maxFailures;
  }

  /** Records one wrong user name or password from `source`. */
  failed(source: string): FailureCount {
    const key = sourceKey(source);
    const now = this.#now();
    const failures = (this.#live(key)?.failures ?? 0) + 1;
    this.#sources.delete(key);
    this.#sweep(now);
    while (this.#sources.size >= this.#maxSources) {
      const oldest = this.#sources.keys().next();
      if (oldest.done) break;
      this.#sources.delete(oldest.value);
    }
    this.#sources.set(key, { failures, lastMs: now });
    return { failures, blockedNow: failures === this.#limits.maxFailures };
  }

  /** The entry of `key` if its last failure is within the window (an expired one is dropped). */
  #live(key: string): Entry | undefined {
    const entry = this.#sources.get(key);
    if (entry === undefined) return undefined;
    if (this.#now() - entry.lastMs < this.#limits.windowMs) return entry;
    this.#sources.delete(key);
    return undefined;
  }

  /** Drops expired entries from the front (the oldest last failures): amortised O(1). */
  #sweep(now: number): void {
    for (const [key, entry] of this.#sources) {
      if (now - entry.lastMs < this.#limits.windowMs) return;
      this.#sources.delete(key);
    }
  }
}

/**
 * The table key of a source address: lower-case, an IPv4-mapped IPv6 address as its IPv4 one (a
 * dual-stack listener must not give one host two tallies).
 */
export function sourceKey(hostname: string): string {
  const lower = hostname.toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  return mapped ? mapped[1] : lower;
}

function checked(limits: AuthFailureLimits): AuthFailureLimits {
  positive("maxFailures", limits.maxFailures);
  positive("windowMs", limits.windowMs);
  return { maxFailures: limits.maxFailures, windowMs: limits.windowMs };
}

function positive(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot limit endpoint authentication as '${name}' must be a positive integer: current ` +
        `value is ${value}`,
    );
  }
}
