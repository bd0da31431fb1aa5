/**
 * A bounded send queue for datagrams (QUIC datagrams or UDP packets), drained with at most a few
 * sends in flight. Deno's `QuicConn.sendDatagram()` slows down sharply with many sends pending at
 * once (bench/micro/deno_udp_io.ts: ~90,000 datagrams/s with 1–16 in flight, ~11,500 with 1,024),
 * so firing every send without waiting — what a flood does — collapses the rate. The queue keeps
 * the rest waiting in a plain FIFO instead, and drops the newest when full (what is queued is older
 * and already paid for).
 * @module
 */

/** Sends in flight per queue: the window bench/micro/deno_udp_io.ts shows costs nothing. */
export const SENDS_IN_FLIGHT = 8;

/** What a queue does with its items. */
export interface DatagramQueueOptions<T> {
  /** Items queued or in flight at most; beyond it `offer` drops the newest. */
  depth: number;
  /** Starts one send. A rejection is reported to `failed`; the queue goes on. */
  send(item: T): Promise<unknown>;
  /** Called once per send that rejected. */
  failed?(item: T, error: unknown): void;
  /** Sends in flight at most. @default {SENDS_IN_FLIGHT} */
  inFlight?: number;
}

/**
 * FIFO of items waiting to be sent, with at most `inFlight` sends started and not yet settled.
 * Every settled send starts the next waiting item, so the queue drains as one loop would.
 */
export class DatagramQueue<T> {
  readonly #opts: DatagramQueueOptions<T>;
  readonly #window: number;
  /** Ring buffer of waiting items; grows by doubling while items wait (bounded by `depth`). */
  #ring: (T | undefined)[] = new Array(16);
  #head = 0;
  #waiting = 0;
  #inFlight = 0;
  #closed = false;

  constructor(options: DatagramQueueOptions<T>) {
    this.#opts = options;
    this.#window = Math.max(1, options.inFlight ?? SENDS_IN_FLIGHT);
  }

  /** Items waiting or in flight. */
  get pending(): number {
    return this.#waiting + this.#inFlight;
  }

  /** Sends started and not yet settled. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** True when `offer` would refuse: lets a caller skip building an item that would be dropped. */
  get full(): boolean {
    return this.#closed || this.pending >= this.#opts.depth;
  }

  /** Queues `item`; false when the queue is full or closed (the caller counts the drop). */
  offer(item: T): boolean {
    if (this.full) return false;
    if (this.#inFlight < this.#window) {
      this.#start(item);
      return true;
    }
    if (this.#waiting === this.#ring.length) this.#grow();
    this.#ring[(this.#head + this.#waiting) % this.#ring.length] = item;
    this.#waiting++;
    return true;
  }

  /** Forgets every waiting item and refuses new ones; sends in flight still settle. */
  close(): void {
    this.#closed = true;
    this.#ring = [];
    this.#head = 0;
    this.#waiting = 0;
  }

  #start(item: T): void {
    this.#inFlight++;
    let p: Promise<unknown>;
    try {
      p = this.#opts.send(item);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(this.#settled, (e) => {
      this.#opts.failed?.(item, e);
      this.#settled();
    });
  }

  readonly #settled = (): void => {
    this.#inFlight--;
    if (this.#waiting === 0 || this.#closed) return;
    const item = this.#ring[this.#head] as T;
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#ring.length;
    this.#waiting--;
    this.#start(item);
  };

  #grow(): void {
    const n = this.#ring.length;
    const next = new Array<T | undefined>(n * 2);
    for (let i = 0; i < this.#waiting; i++) next[i] = this.#ring[(this.#head + i) % n];
    this.#ring = next;
    this.#head = 0;
  }
}
