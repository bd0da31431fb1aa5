/**
 * The one error type of certificate management, with a table of codes: each code says whether a
 * later attempt may succeed, and is the label of `ztna_acme_failures_total`. Pure: no I/O.
 * @module
 */

/** Every way obtaining or storing a certificate can fail; `retry` says whether to try again. */
export const ACME_ERRORS = {
  /** The CA's HTTPS endpoint did not answer (down, DNS, TLS, timeout). */
  ca_unreachable: { retry: true },
  /** The CA answered with an ACME problem or an unexpected status. */
  ca_error: { retry: true },
  /** The CA could not validate a challenge (authorization or challenge "invalid"). */
  challenge_failed: { retry: true },
  /** The HTTP-01 listener could not bind its address. */
  challenge_listener_failed: { retry: true },
  /** The dns-01 hook exited non-zero, timed out or could not be started. */
  hook_failed: { retry: true },
  /** The permission set does not allow running the dns-01 hook. */
  permission_missing: { retry: false },
  /** Reading or writing the ACME folder under state_dir failed. */
  storage_failed: { retry: true },
  /** The CA returned a certificate we cannot use (unparseable, wrong names, key mismatch). */
  invalid_certificate: { retry: true },
  /** Stopped by shutdown. */
  aborted: { retry: false },
} as const satisfies Record<string, { retry: boolean }>;

/** A code of {@link ACME_ERRORS}. */
export type AcmeErrorCode = keyof typeof ACME_ERRORS;

/** Every code, for presetting metric series. */
export const ACME_ERROR_CODES = Object.keys(ACME_ERRORS) as readonly string[];

/** A failure of certificate management; branch on `code`, never on the message. */
export class AcmeError extends Error {
  override readonly name = "AcmeError";
  constructor(readonly code: AcmeErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** `error` as an {@link AcmeError}: kept when it is one, else wrapped with `code`. */
export function asAcmeError(error: unknown, code: AcmeErrorCode, what: string): AcmeError {
  if (error instanceof AcmeError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new AcmeError(code, `${what}: ${detail}`, { cause: error });
}
