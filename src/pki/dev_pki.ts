/**
 * A development PKI for running relays locally and in tests: a dev CA and a relay certificate
 * signed by it, written as PEM files (`ca.crt`, `ca.key`, `relay.crt`, `relay.key`).
 *
 * The CA (ECDSA P-256, `CA:true`, path length 0, `keyCertSign`) is kept when `outDir` already holds a
 * usable one, so re-running never invalidates what clients and connectors were told to trust
 * (`ca = "certs/dev/ca.crt"`); the relay certificate (ECDSA P-256, `serverAuth`, SAN `localhost`,
 * `127.0.0.1`, `::1` plus extra names) is issued anew each time. Private keys are PKCS#8 PEM, mode 0600.
 * Never use this for production (see certs/README.md).
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { writeFileAtomic } from "./atomic_file.ts";
import { CertificateError, parseCertificate } from "./certificate_info.ts";

/** Options of {@link generateDevPki}. */
export interface DevPkiOptions {
  /** Folder for the four files; created when missing. @example {"certs/dev"} */
  outDir: string;
  /**
   * Extra names for the relay certificate, beside `localhost`, `127.0.0.1` and `::1`; IPv4 and IPv6
   * addresses become IP entries, anything else a DNS name (`*.example.com` allowed).
   * @default {[]}
   */
  names?: readonly string[];
  /** Validity of the relay certificate in days (1 to 825). @default {365} */
  validDays?: number;
  /** Current time, replaced in tests. @default {Date.now()} */
  nowMs?: number;
}

/** Paths of the files written, and what happened to the CA. */
export interface DevPki {
  caCertPath: string;
  caKeyPath: string;
  certPath: string;
  keyPath: string;
  /** True when an existing CA was kept; false when a new one was made. */
  caReused: boolean;
  /** Why an existing CA was replaced; absent when there was none or it was kept. */
  caReplacedBecause?: string;
  /** Every name in the relay certificate. */
  names: string[];
  /** Expiry of the relay certificate. */
  notAfter: Date;
}

/** File names inside `outDir`. */
export const DEV_PKI_FILES = {
  caCert: "ca.crt",
  caKey: "ca.key",
  cert: "relay.crt",
  key: "relay.key",
} as const;

/** Names every dev relay certificate carries, so loopback tests work out of the box. */
export const DEFAULT_DEV_NAMES: readonly string[] = ["localhost", "127.0.0.1", "::1"];

/** Dev CA lifetime: long, because replacing it means redistributing `ca.crt`. */
const CA_VALID_DAYS = 3_650;
/** Longest leaf lifetime: the CA/Browser Forum's old 825-day cap, which some TLS stacks enforce. */
const MAX_LEAF_VALID_DAYS = 825;
/** Backdating of notBefore, for clocks that lag a little behind the machine that made the files. */
const BACKDATE_MS = 60 * 60 * 1_000;
const DAY_MS = 86_400_000;

const EC_KEY = { name: "ECDSA", namedCurve: "P-256" } as const;
const EC_SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;

/**
 * Creates (or keeps) the dev CA in `outDir` and issues a fresh relay certificate signed by it.
 * @throws {RangeError} for a name that is neither an IP address nor a DNS name, or bad `validDays`
 */
export async function generateDevPki(options: DevPkiOptions): Promise<DevPki> {
  const { outDir, names = [], validDays = 365, nowMs = Date.now() } = options;
  if (!Number.isInteger(validDays) || validDays < 1 || validDays > MAX_LEAF_VALID_DAYS) {
    throw new RangeError(
      `Cannot create dev certificates as 'validDays' must be an integer between 1 and ${MAX_LEAF_VALID_DAYS}: current value is ${validDays}`,
    );
  }
  const sans = subjectAltNames([...DEFAULT_DEV_NAMES, ...names]);
  const paths = {
    caCertPath: `${outDir}/${DEV_PKI_FILES.caCert}`,
    caKeyPath: `${outDir}/${DEV_PKI_FILES.caKey}`,
    certPath: `${outDir}/${DEV_PKI_FILES.cert}`,
    keyPath: `${outDir}/${DEV_PKI_FILES.key}`,
  };
  await Deno.mkdir(outDir, { recursive: true });

  const leafNotAfterMs = nowMs + validDays * DAY_MS;
  const existing = await loadCa(paths.caCertPath, paths.caKeyPath, leafNotAfterMs);
  let ca: LoadedCa;
  if (existing.kind === "usable") {
    ca = existing.ca;
  } else {
    ca = await createCa(nowMs);
    await writeFileAtomic(paths.caKeyPath, await privateKeyPem(ca.privateKey), { mode: 0o600 });
    await writeFileAtomic(paths.caCertPath, ca.cert.toString("pem") + "\n", { mode: 0o644 });
  }

  const leafKeys = await crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
  const firstDns = sans.find((n) => n.type === "dns")?.value ?? "localhost";
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${firstDns}, O=ztna development`,
    issuer: ca.cert.subject,
    notBefore: new Date(nowMs - BACKDATE_MS),
    notAfter: new Date(leafNotAfterMs),
    publicKey: leafKeys.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: EC_SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(sans),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
    ],
  });
  await writeFileAtomic(paths.keyPath, await privateKeyPem(leafKeys.privateKey), { mode: 0o600 });
  await writeFileAtomic(paths.certPath, leaf.toString("pem") + "\n", { mode: 0o644 });

  return {
    ...paths,
    caReused: existing.kind === "usable",
    ...(existing.kind === "unusable" ? { caReplacedBecause: existing.why } : {}),
    names: sans.map((n) => n.value),
    notAfter: leaf.notAfter,
  };
}

/**
 * Classifies each name as an IP or DNS entry, normalised and without duplicates.
 * @throws {RangeError} for a name that is neither
 */
export function subjectAltNames(
  names: readonly string[],
): Array<{ type: "dns" | "ip"; value: string }> {
  const out: Array<{ type: "dns" | "ip"; value: string }> = [];
  for (const raw of names) {
    const entry = classifyName(raw);
    if (!out.some((e) => e.type === entry.type && e.value === entry.value)) out.push(entry);
  }
  return out;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function classifyName(raw: string): { type: "dns" | "ip"; value: string } {
  const name = raw.trim();
  if (IPV4.test(name)) return { type: "ip", value: name };
  if (name.includes(":")) {
    const v6 = canonicalIpv6(name.replace(/^\[(.*)\]$/, "$1"));
    if (v6 !== undefined) return { type: "ip", value: v6 };
  } else {
    const dns = name.toLowerCase().replace(/\.$/, "");
    const labels = dns.split(".");
    const wildcard = labels[0] === "*" && labels.length > 2;
    const rest = wildcard ? labels.slice(1) : labels;
    if (
      dns.length <= 253 && rest.every((l) => DNS_LABEL.test(l)) && !/^\d+$/.test(rest.at(-1) ?? "")
    ) {
      return { type: "dns", value: dns };
    }
  }
  throw new RangeError(
    `Cannot create dev certificates as each name must be a DNS name or an IP address: current value is "${raw}"`,
  );
}

/** The compressed form of an IPv6 address, or undefined when `text` is not one (zones refused). */
function canonicalIpv6(text: string): string | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined; // URL throws TypeError for anything that is not an IPv6 literal
  }
}

interface LoadedCa {
  cert: x509.X509Certificate;
  privateKey: CryptoKey;
}

type CaState =
  | { kind: "usable"; ca: LoadedCa }
  | { kind: "missing" }
  | { kind: "unusable"; why: string };

/** Reads an existing CA and checks it can sign the new leaf for its whole life. */
async function loadCa(certPath: string, keyPath: string, leafNotAfterMs: number): Promise<CaState> {
  const certPem = await readIfPresent(certPath);
  const keyPem = await readIfPresent(keyPath);
  if (certPem === undefined && keyPem === undefined) return { kind: "missing" };
  if (certPem === undefined) {
    return { kind: "unusable", why: `${keyPath} exists but ${certPath} is missing` };
  }
  if (keyPem === undefined) {
    return { kind: "unusable", why: `${certPath} exists but ${keyPath} is missing` };
  }

  let cert: x509.X509Certificate;
  try {
    cert = parseCertificate(certPem);
  } catch (error) {
    if (error instanceof CertificateError) {
      return { kind: "unusable", why: `${certPath}: ${error.message}` };
    }
    throw error;
  }
  if (!(cert.getExtension(x509.BasicConstraintsExtension)?.ca ?? false)) {
    return { kind: "unusable", why: `${certPath} is not a CA certificate` };
  }
  if (cert.notAfter.getTime() < leafNotAfterMs) {
    return {
      kind: "unusable",
      why: `${certPath} expires ${cert.notAfter.toISOString()}, before the new certificate would`,
    };
  }

  let privateKey: CryptoKey;
  let privateJwk: JsonWebKey;
  try {
    const der = x509.PemConverter.decodeFirst(keyPem);
    privateKey = await crypto.subtle.importKey("pkcs8", der, EC_KEY, true, ["sign"]);
    privateJwk = await crypto.subtle.exportKey("jwk", privateKey);
  } catch {
    return { kind: "unusable", why: `${keyPath} is not an ECDSA P-256 private key in PKCS#8 PEM` };
  }
  let publicJwk: JsonWebKey;
  try {
    publicJwk = await crypto.subtle.exportKey(
      "jwk",
      await cert.publicKey.export(EC_KEY, ["verify"]),
    );
  } catch {
    return { kind: "unusable", why: `${certPath} does not hold an ECDSA P-256 key` };
  }
  if (publicJwk.x !== privateJwk.x || publicJwk.y !== privateJwk.y) {
    return { kind: "unusable", why: `${keyPath} does not belong to ${certPath}` };
  }
  return { kind: "usable", ca: { cert, privateKey } };
}

async function createCa(nowMs: number): Promise<LoadedCa> {
  const keys = await crypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"]);
  // A unique name per CA: two dev CAs with one name would confuse chain building on the clients.
  const tag = Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=ztna dev CA ${tag}, O=ztna development`,
    notBefore: new Date(nowMs - BACKDATE_MS),
    notAfter: new Date(nowMs + CA_VALID_DAYS * DAY_MS),
    keys,
    signingAlgorithm: EC_SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, privateKey: keys.privateKey };
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY") +
    "\n";
}

/** 16 random bytes, high bit clear so the DER integer stays positive, first byte non-zero. */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
