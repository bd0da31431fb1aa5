/**
 * Ed25519 token-signing keys: generation, PEM import, and key ids.
 *
 * The private key (PKCS#8 PEM) stays with whoever issues tokens (`ztna admin token issue`); relays get
 * only public keys (SPKI PEM), several at once during a rotation. A key's id (`kid`, carried in every
 * token header) is its RFC 7638 JWK thumbprint, so the id follows from the key and cannot drift.
 * Pure: WebCrypto only, no disk; callers read files and pass their text and path.
 * @module
 */
import { calculateJwkThumbprint } from "jose";
import { decodePemBlocks, encodePem } from "./_pem.ts";

/** A freshly generated key pair, as PEM text, with its key id. */
export interface SigningKeyPair {
  /** PKCS#8 `PRIVATE KEY` PEM: keep secret (mode 0600). */
  privatePem: string;
  /** SPKI `PUBLIC KEY` PEM: give to every relay. */
  publicPem: string;
  /** RFC 7638 thumbprint of the public key (43 base64url characters). */
  kid: string;
}

/** An imported private key, ready to sign tokens. */
export interface SigningKey {
  kid: string;
  /** Non-extractable Ed25519 private key. */
  key: CryptoKey;
}

/** An imported public key, ready to verify tokens. */
export interface VerificationKey {
  kid: string;
  /** Ed25519 public key. */
  key: CryptoKey;
  /** The file it came from, for logs and errors. */
  path: string;
}

/** A PEM file's text and the path it was read from. */
export interface PemSource {
  path: string;
  pem: string;
}

/** Why a key file was refused. */
export type SigningKeyProblem = "not_pem" | "wrong_kind" | "not_ed25519";

/** A key file that cannot be used; `path` names the file, `problem` says why. */
export class SigningKeyError extends Error {
  override readonly name = "SigningKeyError";
  constructor(
    readonly path: string,
    readonly problem: SigningKeyProblem,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const ED25519 = { name: "Ed25519" } as const;

/** Generates a new Ed25519 key pair for signing tokens. */
export async function generateSigningKeyPair(): Promise<SigningKeyPair> {
  const pair = await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"]);
  if (!("privateKey" in pair)) {
    throw new TypeError("Cannot generate key: WebCrypto returned no key pair");
  }
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  return {
    privatePem: encodePem(pkcs8, "PRIVATE KEY"),
    publicPem: encodePem(spki, "PUBLIC KEY"),
    kid: await keyId(pair.publicKey),
  };
}

/**
 * Imports the token-verification keys of a relay; the same key listed twice is kept once.
 * @throws {SigningKeyError} naming the first file that holds no Ed25519 public key
 */
export async function importPublicKeys(sources: readonly PemSource[]): Promise<VerificationKey[]> {
  const keys: VerificationKey[] = [];
  for (const { path, pem } of sources) {
    const der = singleBlock(path, pem, "PUBLIC KEY", "an Ed25519 public key (SPKI)");
    let key: CryptoKey;
    try {
      key = await crypto.subtle.importKey("spki", der, ED25519, true, ["verify"]);
    } catch (cause) {
      throw notEd25519(path, "public", cause);
    }
    const kid = await keyId(key);
    if (!keys.some((k) => k.kid === kid)) keys.push({ kid, key, path });
  }
  return keys;
}

/**
 * Imports the private key that signs tokens.
 * @param path names the file in errors
 * @throws {SigningKeyError} when `pem` holds no Ed25519 private key
 */
export async function importPrivateKey(pem: string, path = "private key"): Promise<SigningKey> {
  const der = singleBlock(path, pem, "PRIVATE KEY", "an Ed25519 private key (PKCS#8)");
  let jwk: JsonWebKey;
  let key: CryptoKey;
  try {
    // Imported once extractable only to derive the public half for the key id.
    const extractable = await crypto.subtle.importKey("pkcs8", der, ED25519, true, ["sign"]);
    jwk = await crypto.subtle.exportKey("jwk", extractable);
    key = await crypto.subtle.importKey("pkcs8", der, ED25519, false, ["sign"]);
  } catch (cause) {
    throw notEd25519(path, "private", cause);
  }
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.x !== "string") {
    throw notEd25519(path, "private");
  }
  return { kid: await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }), key };
}

/** The RFC 7638 thumbprint (SHA-256, base64url) of an Ed25519 public key. */
export async function keyId(publicKey: CryptoKey): Promise<string> {
  const jwk = await crypto.subtle.exportKey("jwk", publicKey);
  if (jwk.kty !== "OKP" || typeof jwk.crv !== "string" || typeof jwk.x !== "string") {
    throw new TypeError(`Cannot compute key id: expected an OKP key, got "${jwk.kty}"`);
  }
  return await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x });
}

function singleBlock(
  path: string,
  pem: string,
  label: "PUBLIC KEY" | "PRIVATE KEY",
  wanted: string,
): Uint8Array<ArrayBuffer> {
  const blocks = decodePemBlocks(pem);
  const matching = blocks.filter((b) => b.label === label);
  if (matching.length === 1) return matching[0].der;
  if (matching.length > 1) {
    throw new SigningKeyError(
      path,
      "not_pem",
      `${path}: expected one ${label} block, found ${matching.length}`,
    );
  }
  if (blocks.length === 0) {
    throw new SigningKeyError(
      path,
      "not_pem",
      `${path}: expected ${wanted} in PEM format, found no PEM block`,
    );
  }
  const found = blocks.map((b) => b.label).join(", ");
  const hint = label === "PUBLIC KEY" && found.includes("PRIVATE KEY")
    ? " (give relays the .pub file, never the private key)"
    : "";
  throw new SigningKeyError(
    path,
    "wrong_kind",
    `${path}: expected ${wanted}, found ${found}${hint}`,
  );
}

function notEd25519(path: string, half: "public" | "private", cause?: unknown): SigningKeyError {
  return new SigningKeyError(
    path,
    "not_ed25519",
    `${path}: expected an Ed25519 ${half} key (generate one with "ztna admin keygen")`,
    { cause },
  );
}
