/**
 * A certificate chain and its private key as one unit, and the checks that decide whether such a
 * pair may be served: the leaf parses, the key is the leaf's, the names cover the configured
 * domains, and the validity period. No I/O.
 * @module
 */
import { createPublicKey } from "node:crypto";
import { type CertificateInfo, parseCertificate, readCertificateInfo } from "../pki/mod.ts";
import { AcmeError } from "./acme_error.ts";

/** PEM chain (leaf first) and PEM private key, with facts about the leaf. */
export interface CertificatePair {
  /** Leaf and intermediates, PEM. */
  cert: string;
  /** PKCS#8 PEM private key of the leaf. */
  key: string;
  info: CertificateInfo;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * Builds a pair from PEM texts, checking the key belongs to the leaf.
 * @throws {AcmeError} invalid_certificate when the chain or the key is unreadable or they differ
 */
export function certificatePair(cert: string, key: string): CertificatePair {
  let info: CertificateInfo;
  let leafKey: Uint8Array;
  let privateKeysPublicHalf: Uint8Array;
  try {
    info = readCertificateInfo(cert);
    leafKey = new Uint8Array(parseCertificate(cert).publicKey.rawData);
    privateKeysPublicHalf = new Uint8Array(
      createPublicKey(key).export({ type: "spki", format: "der" }),
    );
  } catch (error) {
    throw new AcmeError(
      "invalid_certificate",
      `Cannot use the certificate: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  if (!sameBytes(leafKey, privateKeysPublicHalf)) {
    throw new AcmeError(
      "invalid_certificate",
      "Cannot use the certificate: the key is not its key",
    );
  }
  return { cert, key, info };
}

/** Why a pair should not (or no longer) be served as it is; undefined when it is fine. */
export function pairProblem(
  pair: CertificatePair,
  domains: readonly string[],
  nowMs: number,
): "expired" | "not_yet_valid" | "names_differ" | undefined {
  if (pair.info.notAfter.getTime() <= nowMs) return "expired";
  if (pair.info.notBefore.getTime() > nowMs) return "not_yet_valid";
  // Names as ordered: a wildcard must be in the certificate as the same wildcard.
  if (!domains.every((d) => pair.info.dnsNames.includes(d))) return "names_differ";
  return undefined;
}
