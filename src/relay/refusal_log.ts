/**
 * A bounded ring of the relay's most recent refusals (connections, registrations, flows), with
 * their code, for the admin dashboard. Counting stays in RelayMetrics; this keeps the last few
 * events with who and what, so an operator sees *why* a peer is being turned away. Pure: no I/O.
 * @module
 */
import type { ErrorCode } from "../protocol/mod.ts";

/** One refusal, as recorded by the relay. */
export interface RefusalEvent {
  /** Milliseconds since the epoch. */
  at: number;
  code: ErrorCode;
  /** Token subject, once known. */
  identity?: string;
  service?: string;
  connId?: string;
  /** The access-policy rule that decided, or "no grant"; absent for refusals the policy did not make. */
  rule?: string;
}

/** Options of {@link RefusalLog}. */
export interface RefusalLogOptions {
  /** Events kept; older ones are overwritten. @default {200} */
  capacity?: number;
}

/** Keeps the last `capacity` refusals; recording is O(1) and never allocates beyond the ring. */
export class RefusalLog {
  readonly #ring: (RefusalEvent | undefined)[];
  #next = 0;
  #total = 0;

  /** @throws {RangeError} when `capacity` is not an integer from 1 to 100000 */
  constructor(options: RefusalLogOptions = {}) {
    const { capacity = 200 } = options;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 100_000) {
      throw new RangeError(
        `Cannot create refusal log as 'capacity' must be an integer from 1 to 100000: current value is ${capacity}`,
      );
    }
    this.#ring = new Array(capacity);
  }

  /** Records one refusal, overwriting the oldest when full. */
  record(event: RefusalEvent): void {
    this.#ring[this.#next] = { ...event };
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#total++;
  }

  /** Refusals recorded since start, including those no longer kept. */
  get total(): number {
    return this.#total;
  }

  /** The kept refusals, newest first; at most `limit`. */
  recent(limit = this.#ring.length): RefusalEvent[] {
    const out: RefusalEvent[] = [];
    const n = this.#ring.length;
    for (let k = 1; k <= n && out.length < limit; k++) {
      const event = this.#ring[(this.#next - k + n) % n];
      if (event === undefined) break;
      out.push({ ...event });
    }
    return out;
  }
}
