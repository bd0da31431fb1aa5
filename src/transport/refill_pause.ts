/**
 * The pause before a pool of idle connections (a connector's offers, a client's spares) is refilled
 * after a dial failed or an idle one died: growing with each failure in a row, jittered, so a relay
 * that refuses or drops them is not hammered.
 * @module
 */

/** First pause; it doubles with each failure in a row up to {@link MAX_PAUSE_MS}. */
const FIRST_PAUSE_MS = 250;
const MAX_PAUSE_MS = 30_000;

/** One pool's refill pause. */
export class RefillPause {
  #failures = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** True while a refill waits for its pause to end. */
  get waiting(): boolean {
    return this.#timer !== undefined;
  }

  /** A dial or an idle connection failed: `refill` runs after the next pause (half to all of it). */
  failed(refill: () => void): void {
    this.#failures++;
    const ms = Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** Math.min(7, this.#failures - 1));
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      refill();
    }, ms * (0.5 + Math.random() / 2));
  }

  /** A dial succeeded: the next failure starts from the first pause again. */
  succeeded(): void {
    this.#failures = 0;
  }

  /** No refill any more (the link closed or retired). */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
