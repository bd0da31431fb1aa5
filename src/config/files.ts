/**
 * Startup checks of the files a role needs: they exist, are readable files, and look like what the
 * key says (PEM). Problems become {@link ConfigError}s naming the key; file contents never appear.
 * @module
 */
import { describeFsError } from "./fs_errors.ts";
import { ConfigError } from "./config_error.ts";

export { READABLE_FOLDERS } from "./permission_set.ts";

/** Where a checked path came from, for error messages. */
export interface FileKey {
  /** The config file as the operator named it. */
  file: string;
  /** The key holding the path, e.g. `intermediate.token_public_keys[1]`. */
  keyPath: string;
}

/** True when a `ca` value is the PEM text itself rather than a file name. */
export function isInlinePem(value: string): boolean {
  return value.trimStart().startsWith("-----BEGIN");
}

/**
 * The CA bundle a connector or client trusts: `ca` read as a file, or taken as it is when it holds
 * the PEM text itself (a client without root keeps its config outside the readable folders and
 * passes it on stdin, so the CA must travel inside it).
 */
export async function readCaBundle(ca: string): Promise<string> {
  return isInlinePem(ca) ? ca : await Deno.readTextFile(ca);
}

function unreadable(where: FileKey, path: string, error: unknown): ConfigError {
  const { reason, hint } = describeFsError(error, "read");
  return new ConfigError({
    ...where,
    problem: `cannot read ${JSON.stringify(path)} (${reason})`,
    hint,
    cause: error,
  });
}

/**
 * Reads a file the role needs.
 * @throws {ConfigError} naming the key when the file is missing, a folder or not readable
 */
export async function readNeededFile(where: FileKey, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw unreadable(where, path, error);
  }
}

/**
 * Reads a file the role needs and checks it holds PEM text (certificate, key or public key).
 * @throws {ConfigError} when unreadable or without a `-----BEGIN` line
 */
export async function checkPemFile(where: FileKey, path: string): Promise<void> {
  const text = isInlinePem(path) ? path : await readNeededFile(where, path);
  if (!text.includes("-----BEGIN")) {
    throw new ConfigError({
      ...where,
      problem: `${JSON.stringify(path)} is not a PEM file (no "-----BEGIN" line)`,
    });
  }
  if (isInlinePem(path) && !/-----END [A-Z ]+-----/.test(text)) {
    throw new ConfigError({ ...where, problem: 'PEM text without an "-----END" line' });
  }
}

/**
 * Checks a file that may not exist yet (the revocation list): absent is fine, but a present one
 * must be a readable file.
 * @throws {ConfigError} when present but unreadable or a folder
 */
export async function checkOptionalFile(where: FileKey, path: string): Promise<void> {
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw new Deno.errors.IsADirectory(path);
    using _file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw unreadable(where, path, error);
  }
}
