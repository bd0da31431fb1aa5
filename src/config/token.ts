/**
 * Where the connector's and client's token comes from (ZTNA_TOKEN over token_file) and a shape
 * check, so a wrong file fails at startup instead of at the relay. The token is never printed.
 * @module
 */
import { ConfigError } from "./config_error.ts";
import { type Env, envValue } from "./env.ts";
import { type FileKey, readNeededFile } from "./files.ts";

/** Compact JWS: three base64url parts separated by dots. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** True when `text` has the shape of a compact JWS (signature not checked here). */
export function looksLikeToken(text: string): boolean {
  return COMPACT_JWS.test(text);
}

const SHAPE = "expected a compact JWS: three base64url parts separated by dots";

/**
 * The token for a dialing role: ZTNA_TOKEN if set, else the contents of `tokenFile` (trimmed).
 * @param where the config file and the `token_file` key, for messages
 * @throws {ConfigError} when neither is given, the file is unreadable, or the text is no token
 */
export async function resolveToken(
  where: FileKey,
  options: { tokenFile: string | undefined; env: Env },
): Promise<string> {
  const fromEnv = envValue(options.env, "ZTNA_TOKEN");
  if (fromEnv !== undefined) {
    const token = fromEnv.trim();
    if (looksLikeToken(token)) return token;
    throw new ConfigError({
      file: "environment",
      keyPath: "ZTNA_TOKEN",
      problem: `does not hold a token (${SHAPE})`,
    });
  }
  if (options.tokenFile === undefined) {
    throw new ConfigError({
      ...where,
      problem: "no token: set token_file or the ZTNA_TOKEN environment variable",
    });
  }
  const token = (await readNeededFile(where, options.tokenFile)).trim();
  if (looksLikeToken(token)) return token;
  throw new ConfigError({ ...where, problem: `file does not hold a token (${SHAPE})` });
}
