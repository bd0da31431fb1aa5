/**
 * Rate limits as token buckets, one per key (source address, identity), with a bounded number of
 * keys so the limiter itself cannot be used to exhaust memory. Pure: time comes from the caller.
 * @module
 */

/** Options of {@link KeyedRateLimiter}. */
export interface RateLimiterOptions {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: how many events may come at once. @default {perSecond} */
  burst?: number;
  /** Keys tracked at most; the least recently used is forgotten beyond it. @default {100000} */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets keyed by string. */
export class KeyedRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #perMs: number;
  readonly #burst: number;
  readonly #maxKeys: number;

  /** @throws {RangeError} when perSecond, burst or maxKeys are not positive */
  constructor(options: RateLimiterOptions) {
    const { perSecond, burst = perSecond, maxKeys = 100_000 } = options;
    if (!(perSecond > 0) || !(burst >= 1) || !(maxKeys >= 1)) {
      throw new RangeError(
        `Cannot create rate limiter as 'perSecond', 'burst' and 'maxKeys' must be positive: current values are ${perSecond}, ${burst}, ${maxKeys}`,
      );
    }
    this.#perMs = perSecond / 1000;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
  }

  /** Takes one token for `key` at time `nowMs`; false when the bucket is empty. */
  take(key: string, nowMs: number): boolean {
    let b = this.#buckets.get(key);
    if (b) {
      this.#buckets.delete(key); // re-insert below: Map order doubles as LRU order
      b.tokens = Math.min(this.#burst, b.tokens + (nowMs - b.at) * this.#perMs);
      b.at = nowMs;
    } else {
      b = { tokens: this.#burst, at: nowMs };
      if (this.#buckets.size >= this.#maxKeys) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    }
    this.#buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.#buckets.size;
  }
}
