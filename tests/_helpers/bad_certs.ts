/**
 * Server certificates a verifying peer must refuse, for TLS verification tests (finding C1): one
 * from another CA, one that names another host, an expired one, a self-signed one — plus a good one
 * from the same CA as a control — written as PEM files into a test's temp folder.
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { generateDevPki } from "../../src/pki/dev_pki.ts";

/** What is wrong with a certificate; `good` is the control that must be accepted. */
export type CertKind = "good" | "wrong-ca" | "wrong-name" | "expired" | "self-signed";

/** Every kind a peer must refuse. */
export const BAD_KINDS: readonly Exclude<CertKind, "good">[] = [
  "wrong-ca",
  "wrong-name",
  "expired",
  "self-signed",
];

/** The reason Deno's TLS stack (rustls) gives for each refused kind, as it appears in errors. */
export const RUSTLS_REASON: Record<Exclude<CertKind, "good">, RegExp> = {
  "wrong-ca": /UnknownIssuer/,
  "wrong-name": /certificate not valid for name/,
  "expired": /certificate expired/,
  "self-signed": /UnknownIssuer/,
};

/** Paths of a written certificate and its key. */
export interface CertFiles {
  certPath: string;
  keyPath: string;
}

const EC_KEY = { name: "ECDSA", namedCurve: "P-256" } as const;
const EC_SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;
/** The names a loopback peer dials and verifies. */
const LOOPBACK_NAMES = [
  { type: "dns", value: "localhost" },
  { type: "ip", value: "127.0.0.1" },
  { type: "ip", value: "::1" },
] as const;

/**
 * Writes a server certificate of `kind` for loopback into `dir` (`<kind>.crt`, `<kind>.key`). All
 * but `wrong-ca` and `self-signed` are signed by the CA in `ca` (the one the peers trust).
 */
export async function writeServerCert(
  kind: CertKind,
  ca: { caCertPath: string; caKeyPath: string },
  dir: string,
): Promise<CertFiles> {
  await Deno.mkdir(dir, { recursive: true });
  const out = { certPath: `${dir}/${kind}.crt`, keyPath: `${dir}/${kind}.key` };
  if (kind === "wrong-ca") {
    // A complete dev PKI of its own: a valid loopback certificate, from a CA nobody was told to trust.
    const other = await generateDevPki({ outDir: `${dir}/other-ca` });
    await Deno.copyFile(other.certPath, out.certPath);
    await Deno.copyFile(other.keyPath, out.keyPath);
    return out;
  }
  const keys = await crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
  const now = Date.now();
  const names = kind === "wrong-name"
    ? [{ type: "dns" as const, value: "relay.example.com" }]
    : LOOPBACK_NAMES.map((n) => ({ ...n }));
  const notBefore = new Date(kind === "expired" ? now - 10 * DAY_MS : now - 60_000);
  const notAfter = new Date(kind === "expired" ? now - DAY_MS : now + DAY_MS);
  const extensions = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension(names),
  ];
  let cert: x509.X509Certificate;
  if (kind === "self-signed") {
    cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: "CN=localhost",
      notBefore,
      notAfter,
      keys,
      signingAlgorithm: EC_SIGNING,
      extensions,
    });
  } else {
    const caCert = new x509.X509Certificate(await Deno.readTextFile(ca.caCertPath));
    const caKey = await crypto.subtle.importKey(
      "pkcs8",
      x509.PemConverter.decodeFirst(await Deno.readTextFile(ca.caKeyPath)),
      EC_KEY,
      false,
      ["sign"],
    );
    cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${names[0].value}`,
      issuer: caCert.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caKey,
      signingAlgorithm: EC_SIGNING,
      extensions: [
        ...extensions,
        await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
      ],
    });
  }
  const keyPem = x509.PemConverter.encode(
    await crypto.subtle.exportKey("pkcs8", keys.privateKey),
    "PRIVATE KEY",
  );
  await Deno.writeTextFile(out.certPath, cert.toString("pem") + "\n");
  await Deno.writeTextFile(out.keyPath, keyPem + "\n", { mode: 0o600 });
  return out;
}

function serial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
