/**
 * The validity period of a PEM certificate, read with a few lines of DER instead of a full X.509
 * library: the admin endpoint needs only these two dates for its expiry gauge, and the library
 * costs the relay ~20 MiB of heap. Pure; never throws anything but CertificateError.
 * @module
 */

/** Text that holds no readable certificate. */
export class CertificateError extends Error {
  override readonly name = "CertificateError";
}

/** notBefore and notAfter of a certificate, as milliseconds since the epoch. */
export interface CertificateValidity {
  notBeforeMs: number;
  notAfterMs: number;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/;

/** A DER element: its tag, where its contents start and end in the buffer. */
interface Element {
  tag: number;
  start: number;
  end: number;
}

function fail(why: string): never {
  throw new CertificateError(`Cannot read certificate: ${why}`);
}

/** Reads the element at `at`, which must end by `limit`. */
function element(der: Uint8Array, at: number, limit: number): Element {
  if (at + 2 > limit) fail("truncated DER");
  const tag = der[at];
  let length = der[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > limit) fail("bad DER length");
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i];
    start += bytes;
  }
  const end = start + length;
  if (end > limit) fail("DER element longer than its container");
  return { tag, start, end };
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) → ms. */
function time(der: Uint8Array, e: Element): number {
  const text = new TextDecoder().decode(der.subarray(e.start, e.end));
  const m = e.tag === 0x17
    ? text.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/)
    : e.tag === 0x18
    ? text.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/)
    : null;
  if (!m) fail("validity is not a UTCTime or GeneralizedTime in UTC");
  let year = Number(m[1]);
  if (e.tag === 0x17) year += year < 50 ? 2000 : 1900; // RFC 5280: UTCTime 50–99 means 19xx
  const [month, day, hour, minute, second] = m.slice(2).map(Number);
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

/**
 * Reads notBefore and notAfter of the first certificate in a PEM text (a bundle is fine).
 * @throws {CertificateError} when the text holds no certificate these bytes can be read from
 */
export function readCertificateValidity(pem: string): CertificateValidity {
  const block = pem.match(PEM_BLOCK);
  if (!block) fail("no PEM CERTIFICATE block found");
  let der: Uint8Array;
  try {
    der = Uint8Array.from(atob(block[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  } catch {
    fail("the PEM block is not base64");
  }
  const cert = element(der, 0, der.length);
  if (cert.tag !== 0x30) fail("not a DER SEQUENCE");
  const tbs = element(der, cert.start, cert.end);
  if (tbs.tag !== 0x30) fail("no TBSCertificate");
  let at = tbs.start;
  const next = () => {
    const e = element(der, at, tbs.end);
    at = e.end;
    return e;
  };
  let e = next();
  if (e.tag === 0xa0) e = next(); // [0] version, then the serial number
  if (e.tag !== 0x02) fail("no serial number");
  if (next().tag !== 0x30) fail("no signature algorithm");
  if (next().tag !== 0x30) fail("no issuer");
  const validity = next();
  if (validity.tag !== 0x30) fail("no validity");
  const notBefore = element(der, validity.start, validity.end);
  const notAfter = element(der, notBefore.end, validity.end);
  return { notBeforeMs: time(der, notBefore), notAfterMs: time(der, notAfter) };
}
