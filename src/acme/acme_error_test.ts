/**
 * Pins the ACME error table: codes are metric labels and decide retries.
 * @module
 */
import assert from "node:assert/strict";
import { ACME_ERRORS, AcmeError, asAcmeError } from "./acme_error.ts";

Deno.test("ACME_ERRORS lists every code with whether it is retried", () => {
  assert.deepEqual(
    Object.fromEntries(Object.entries(ACME_ERRORS).map(([code, v]) => [code, v.retry])),
    {
      ca_unreachable: true,
      ca_error: true,
      challenge_failed: true,
      challenge_listener_failed: true,
      hook_failed: true,
      permission_missing: false,
      storage_failed: true,
      invalid_certificate: true,
      aborted: false,
    },
  );
});

Deno.test("asAcmeError() keeps an AcmeError and wraps anything else with its cause", () => {
  const own = new AcmeError("hook_failed", "x");
  assert.equal(asAcmeError(own, "ca_error", "ignored"), own);
  const cause = new Error("urn:ietf:params:acme:error:rateLimited");
  const wrapped = asAcmeError(cause, "ca_error", "Cannot create the order");
  assert.equal(wrapped.code, "ca_error");
  assert.equal(wrapped.message, "Cannot create the order: urn:ietf:params:acme:error:rateLimited");
  assert.equal(wrapped.cause, cause);
});
