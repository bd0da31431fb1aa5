/**
 * A throwaway self-signed certificate for a connector's direct-path listener, made in memory at
 * start. Peers trust it only because the relay hands its exact PEM to the client of one brokered
 * session, so TLS stays verified (C1) without any CA.
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

/** Name in the certificate; `.invalid` can never resolve, so it is meaningful only here. */
export const DIRECT_SERVER_NAME = "connector.ztna.invalid";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** Certificate and key in PEM, never written to disk. */
export interface EphemeralCert {
  cert: string;
  key: string;
  serverName: string;
}

/** Makes a self-signed P-256 certificate for {@link DIRECT_SERVER_NAME}, valid for `days`. */
export async function makeEphemeralCert(days = 30): Promise<EphemeralCert> {
  const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const serial = Array.from(
    crypto.getRandomValues(new Uint8Array(12)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: `01${serial}`,
    name: `CN=${DIRECT_SERVER_NAME}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * 86_400_000),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: DIRECT_SERVER_NAME }]),
      new x509.BasicConstraintsExtension(false),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const key = x509.PemConverter.encode(
    await crypto.subtle.exportKey("pkcs8", keys.privateKey),
    "PRIVATE KEY",
  );
  return { cert: cert.toString("pem"), key, serverName: DIRECT_SERVER_NAME };
}
