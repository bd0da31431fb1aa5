/**
 * Reconnect delays: exponential growth with "equal jitter", capped. Pure arithmetic; the loop that
 * sleeps lives in reconnect.ts.
 * @module
 */

/** Options of {@link backoffDelay}. */
export interface BackoffOptions {
  /** First delay in milliseconds. @default {500} */
  minMs?: number;
  /** Largest delay in milliseconds. @default {30000} */
  maxMs?: number;
  /** Jitter source in [0, 1), replaced in tests. @default {Math.random} */
  random?: () => number;
}

/**
 * Delay before attempt number `failures` (1 = after the first failure): half fixed, half random, so
 * a fleet reconnecting after a relay restart spreads out instead of arriving at once.
 * @throws {RangeError} when minMs or maxMs are not positive or minMs > maxMs
 */
export function backoffDelay(failures: number, options: BackoffOptions = {}): number {
  const { minMs = 500, maxMs = 30_000, random = Math.random } = options;
  if (!(minMs > 0) || !(maxMs >= minMs)) {
    throw new RangeError(
      `Cannot compute backoff as 'minMs' must be positive and at most 'maxMs': current values are ${minMs} and ${maxMs}`,
    );
  }
  const exp = Math.min(maxMs, minMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  return Math.round(exp / 2 + random() * exp / 2);
}
