/**
 * Keeps refusal log lines that can come in floods (handshake floods, full datagram queues) to one
 * line per key and interval, each line carrying how many events it stands for. Pure: time comes
 * from the caller. The metrics count every event; this only bounds the log.
 * @module
 */

/** Options of {@link LogThrottle}. */
export interface LogThrottleOptions {
  /** At most one line per key within this many milliseconds. @default {10000} */
  intervalMs?: number;
  /** Keys tracked at most; the least recently used is forgotten beyond it. @default {10000} */
  maxKeys?: number;
}

interface Entry {
  /** When the last line of this key was written. */
  at: number;
  /** Events since then that wrote no line. */
  held: number;
}

/** Decides, per key, whether an event writes a log line now. */
export class LogThrottle {
  readonly #entries = new Map<string, Entry>();
  readonly #intervalMs: number;
  readonly #maxKeys: number;

  /** @throws {RangeError} when intervalMs is negative or maxKeys is below 1 */
  constructor(options: LogThrottleOptions = {}) {
    const { intervalMs = 10_000, maxKeys = 10_000 } = options;
    if (!(intervalMs >= 0) || !(maxKeys >= 1)) {
      throw new RangeError(
        `Cannot create log throttle as 'intervalMs' must be at least 0 and 'maxKeys' at least 1: current values are ${intervalMs}, ${maxKeys}`,
      );
    }
    this.#intervalMs = intervalMs;
    this.#maxKeys = maxKeys;
  }

  /**
   * Counts one event of `key` at `nowMs`. Returns how many events a line written now stands for
   * (this one and those held back since the key's last line), or 0 when no line is due.
   */
  hit(key: string, nowMs: number): number {
    const entry = this.#entries.get(key);
    if (entry && nowMs - entry.at < this.#intervalMs) {
      entry.held++;
      return 0;
    }
    this.#entries.delete(key); // re-insert below: Map order doubles as LRU order
    if (this.#entries.size >= this.#maxKeys) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { at: nowMs, held: 0 });
    return (entry?.held ?? 0) + 1;
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.#entries.size;
  }
}
