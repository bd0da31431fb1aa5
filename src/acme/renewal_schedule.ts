/**
 * When to renew: once `renew_before_fraction` of the certificate's lifetime remains, moved earlier
 * by a random part of up to a tenth of that window so a fleet of relays issued together does not
 * renew in the same second. Pure arithmetic.
 * @module
 */

/** Largest share of the renewal window the jitter moves the renewal earlier. */
export const RENEWAL_JITTER_FRACTION = 0.1;

/** Options of {@link renewalTime}. */
export interface RenewalTimeOptions {
  /** Renew when this fraction of the lifetime remains, in (0, 1). */
  fraction: number;
  /** Jitter source in [0, 1), replaced in tests. @default {Math.random} */
  random?: () => number;
}

/**
 * The instant (ms since the epoch) to renew a certificate valid from `notBeforeMs` to `notAfterMs`.
 * @throws {RangeError} when fraction is not in (0, 1) or the validity is empty
 */
export function renewalTime(
  validity: { notBeforeMs: number; notAfterMs: number },
  options: RenewalTimeOptions,
): number {
  const { fraction, random = Math.random } = options;
  if (!(fraction > 0 && fraction < 1)) {
    throw new RangeError(
      `Cannot schedule a renewal as 'fraction' must be between 0 and 1: current value is ${fraction}`,
    );
  }
  const lifetime = validity.notAfterMs - validity.notBeforeMs;
  if (!(lifetime > 0)) {
    throw new RangeError(
      `Cannot schedule a renewal as the certificate's lifetime must be positive: current value is ${lifetime} ms`,
    );
  }
  const window = lifetime * fraction;
  return Math.floor(validity.notAfterMs - window - random() * window * RENEWAL_JITTER_FRACTION);
}
