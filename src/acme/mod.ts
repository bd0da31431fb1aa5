/**
 * Certificates from an ACME CA (Let's Encrypt, or Pebble in tests) for the relay: obtained at first
 * start, stored atomically under `<state_dir>/acme/`, renewed when a third of the lifetime remains
 * and handed to the relay, which serves them without dropping connections. HTTP-01 through our own
 * listener, dns-01 through an operator's hook. docs/OPERATIONS.md, "ACME certificates".
 * @module
 */
export { ACME_ERROR_CODES, ACME_ERRORS, AcmeError, type AcmeErrorCode } from "./acme_error.ts";
export {
  type AcmeCounter,
  type AcmeTestHooks,
  CertificateManager,
  type CertificateManagerDeps,
  type ObtainKind,
} from "./certificate_manager.ts";
export { type CertificatePair } from "./certificate_pair.ts";
export { ACME_FILES } from "./acme_store.ts";
