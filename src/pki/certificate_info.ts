/**
 * Reads the facts about a PEM certificate that logs, health checks and `ztna admin` show: validity,
 * serial, names. No I/O: callers read the file and pass its text.
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

/** What {@link readCertificateInfo} reports about a certificate. */
export interface CertificateInfo {
  notBefore: Date;
  notAfter: Date;
  /** Serial number, lowercase hex. */
  serial: string;
  /** Issuer distinguished name, e.g. `CN=ztna dev CA 1a2b3c4d`. */
  issuer: string;
  /** Subject distinguished name. */
  subject: string;
  /** True for a CA certificate (basic constraints `CA:true`). */
  isCa: boolean;
  /** DNS names from the subject alternative name extension. */
  dnsNames: string[];
  /** IP addresses from the subject alternative name extension. */
  ipAddresses: string[];
}

import { CertificateError } from "./certificate_validity.ts";

export { CertificateError };

/**
 * Parses the first certificate of a PEM text (a bundle is fine).
 * @throws {CertificateError} when the text holds no parseable certificate
 */
export function readCertificateInfo(pem: string): CertificateInfo {
  const cert = parseCertificate(pem);
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items ?? [];
  return {
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    serial: cert.serialNumber.toLowerCase(),
    issuer: cert.issuer,
    subject: cert.subject,
    isCa: constraints?.ca ?? false,
    dnsNames: names.filter((n) => n.type === "dns").map((n) => n.value),
    ipAddresses: names.filter((n) => n.type === "ip").map((n) => n.value),
  };
}

/**
 * The first certificate of a PEM text, parsed.
 * @throws {CertificateError} when the text holds no parseable certificate
 */
export function parseCertificate(pem: string): x509.X509Certificate {
  const match = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/);
  if (!match) throw new CertificateError("Cannot read certificate: no PEM CERTIFICATE block found");
  try {
    return new x509.X509Certificate(match[0]);
  } catch (cause) {
    throw new CertificateError(
      "Cannot read certificate: the PEM block is not a valid X.509 certificate",
      {
        cause,
      },
    );
  }
}
