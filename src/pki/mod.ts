/**
 * Certificates and key files on disk: the development PKI (dev CA and relay certificate), reading
 * certificate facts, and atomic writes of secret material with the right file mode.
 * @module
 */
export {
  DEFAULT_DEV_NAMES,
  DEV_PKI_FILES,
  type DevPki,
  type DevPkiOptions,
  generateDevPki,
  subjectAltNames,
} from "./dev_pki.ts";
export {
  CertificateError,
  type CertificateInfo,
  parseCertificate,
  readCertificateInfo,
} from "./certificate_info.ts";
export { type CertificateValidity, readCertificateValidity } from "./certificate_validity.ts";
export { writeFileAtomic, type WriteFileAtomicOptions } from "./atomic_file.ts";
