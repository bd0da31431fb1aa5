/**
 * Admin bearer tokens: making one, hashing it (SHA-256; only hashes are ever stored or configured),
 * reading a file of hashes, and checking the `Authorization: Bearer …` header of a request against
 * every known hash in constant time. Sources: `[intermediate.admin] token_hashes`, its
 * `token_hashes_file`, and tokens created through the API (kept in the store).
 * Pure apart from WebCrypto.
 * @module
 */
import { base64url } from "jose";

/** Prefix of every admin token we make, so secret scanners and people recognise one. */
export const ADMIN_TOKEN_PREFIX = "ztna_admin_";

/** Longest bearer value looked at; anything longer is refused before hashing. */
export const MAX_ADMIN_TOKEN_LENGTH = 512;

/** Random bytes in a new admin token: 256 bits. */
const ADMIN_TOKEN_BYTES = 32;

const HASH_PATTERN = /^sha256:([0-9a-f]{64})$/;

/** Makes a new random admin token; show it once, store only {@link hashAdminToken} of it. */
export function generateAdminToken(
  random: (b: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer> = (b) =>
    crypto.getRandomValues(b),
): string {
  return ADMIN_TOKEN_PREFIX + base64url.encode(random(new Uint8Array(ADMIN_TOKEN_BYTES)));
}

/** `sha256:<64 hex>` of a token's UTF-8 bytes, as written in config. */
export async function hashAdminToken(token: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)),
  );
  return `sha256:${[...digest].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The public handle of a hash: its first 12 hex digits (enough to tell tokens apart in logs). */
export function adminTokenId(hash: string): string {
  return hash.slice("sha256:".length, "sha256:".length + 12);
}

/** A line of a hash file that is not a hash. */
export interface HashFileError {
  line: number;
  problem: string;
}

/** Parses a file of hashes: one per line, `#` starts a comment, blank lines ignored. */
export function parseTokenHashFile(text: string): { hashes: string[]; errors: HashFileError[] } {
  const hashes: string[] = [];
  const errors: HashFileError[] = [];
  text.replace(/^\uFEFF/, "").split(/\r?\n/).forEach((raw, index) => {
    const hash = raw.indexOf("#");
    const entry = (hash === -1 ? raw : raw.slice(0, hash)).trim();
    if (entry === "") return;
    if (HASH_PATTERN.test(entry)) {
      hashes.push(entry);
    } else {
      // Never echo the line: it may be a token pasted by mistake.
      errors.push({
        line: index + 1,
        problem: 'expected "sha256:" and 64 lowercase hex digits',
      });
    }
  });
  return { hashes, errors };
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | null): string | undefined {
  if (header === null) return undefined;
  const m = header.match(/^Bearer +([\x21-\x7e]+) *$/i);
  return m ? m[1] : undefined;
}

/** Compares equal-length byte arrays without an early exit. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Where a known admin token came from. */
export type AdminTokenSource = "config" | "file" | "store";

/** An admin token the relay accepts, by hash. */
export interface KnownAdminToken {
  hash: string;
  /** Shown as the actor in the audit log: a store token's label, else the source and id. */
  label: string;
  source: AdminTokenSource;
}

/** Outcome of {@link AdminAuthenticator.authenticate}. */
export type AdminAuthResult =
  | { ok: true; actor: string; tokenId: string }
  | { ok: false; why: "missing" | "malformed" | "unknown" };

function hexBytes(hash: string): Uint8Array {
  const hex = hash.slice("sha256:".length);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Checks bearer tokens against the current set of hashes. */
export class AdminAuthenticator {
  #known: { token: KnownAdminToken; bytes: Uint8Array }[] = [];
  #bySource = new Map<AdminTokenSource, KnownAdminToken[]>();

  /**
   * Replaces the tokens of one source (config at start, file on SIGHUP, store after API changes).
   * @throws {RangeError} when a hash is not `sha256:` and 64 lowercase hex digits
   */
  setSource(source: AdminTokenSource, tokens: readonly { hash: string; label?: string }[]): void {
    for (const t of tokens) {
      if (!HASH_PATTERN.test(t.hash)) {
        throw new RangeError(
          `Cannot accept admin token as 'hash' must be "sha256:" and 64 hex digits: current value is "${t.hash}"`,
        );
      }
    }
    this.#bySource.set(
      source,
      tokens.map((t) => ({
        hash: t.hash,
        label: t.label ?? `${source}-${adminTokenId(t.hash)}`,
        source,
      })),
    );
    this.#known = [...this.#bySource.values()].flat().map((token) => ({
      token,
      bytes: hexBytes(token.hash),
    }));
  }

  /** Tokens accepted now, all sources. */
  get tokens(): KnownAdminToken[] {
    return this.#known.map((k) => ({ ...k.token }));
  }

  /** Checks an `Authorization` header value; every known hash is compared, match or not. */
  async authenticate(header: string | null): Promise<AdminAuthResult> {
    if (header === null || header === "") return { ok: false, why: "missing" };
    const token = bearerToken(header);
    if (token === undefined || token.length > MAX_ADMIN_TOKEN_LENGTH) {
      return { ok: false, why: "malformed" };
    }
    const presented = hexBytes(await hashAdminToken(token));
    let found: KnownAdminToken | undefined;
    for (const known of this.#known) {
      if (constantTimeEqual(presented, known.bytes) && found === undefined) found = known.token;
    }
    if (found === undefined) return { ok: false, why: "unknown" };
    return { ok: true, actor: `admin:${found.label}`, tokenId: adminTokenId(found.hash) };
  }
}
