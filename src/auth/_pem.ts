/**
 * Folder-private: PEM armour (RFC 7468) for the key formats the auth folder reads and writes.
 * Pure: no I/O.
 * @module
 */

/** One decoded PEM block. */
export interface PemBlock {
  /** The label between `BEGIN`/`END`, e.g. `PUBLIC KEY`. */
  label: string;
  /** The decoded DER bytes. */
  der: Uint8Array<ArrayBuffer>;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]{1,64})-----([\s\S]*?)-----END \1-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Wraps DER bytes as PEM with 64-character lines and a final newline. */
export function encodePem(der: Uint8Array, label: string): string {
  let binary = "";
  for (const byte of der) binary += String.fromCharCode(byte);
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Every well-formed PEM block in `text`, in order; blocks whose body is not base64 are skipped. */
export function decodePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const body = match[2].replace(/\s+/g, "");
    if (body.length === 0 || body.length % 4 !== 0 || !BASE64.test(body)) continue;
    const binary = atob(body);
    const der = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) der[i] = binary.charCodeAt(i);
    blocks.push({ label: match[1], der });
  }
  return blocks;
}
