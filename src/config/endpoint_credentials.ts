/**
 * Credentials the client's SOCKS5 and HTTP CONNECT endpoints ask of local programs: `user:password`
 * from ZTNA_ENDPOINT_CREDENTIALS or the first line of `[client] endpoint_credentials_file`, and the
 * rule that an endpoint bound off loopback needs them. Errors name the key, never the text.
 * @module
 */
import { ConfigError } from "./config_error.ts";
import { type Env, envValue } from "./env.ts";
import { type FileKey, readNeededFile } from "./files.ts";
import { resolveAgainst } from "./paths.ts";
import { isLoopbackHost } from "./schema.ts";
import { parseHostPort } from "../protocol/address.ts";

/** A user name and password, each 1 to 255 bytes (RFC 1929's limits, used for HTTP too). */
export interface EndpointCredentials {
  username: string;
  password: string;
}

const encoder = new TextEncoder();

/** Parses `user:password` (the first colon splits; the password may hold colons). */
export function parseEndpointCredentials(
  text: string,
): { ok: true; value: EndpointCredentials } | { ok: false; reason: string } {
  const at = text.indexOf(":");
  if (at < 0) return { ok: false, reason: "expected user:password" };
  const username = text.slice(0, at);
  const password = text.slice(at + 1);
  for (const [what, value] of [["user", username], ["password", password]] as const) {
    const bytes = encoder.encode(value).byteLength;
    if (bytes < 1 || bytes > 255) {
      return { ok: false, reason: `the ${what} must be 1 to 255 bytes (RFC 1929), got ${bytes}` };
    }
    if (/[\r\n\0]/.test(value)) {
      return { ok: false, reason: `the ${what} holds a control character` };
    }
  }
  return { ok: true, value: { username, password } };
}

/**
 * ZTNA_ENDPOINT_CREDENTIALS if set, else the first line of `file`, else undefined.
 * @throws {ConfigError} naming the variable or the key for an unreadable file or bad text
 */
export async function resolveEndpointCredentials(
  where: FileKey,
  options: { file: string | undefined; env: Env },
): Promise<EndpointCredentials | undefined> {
  const fromEnv = envValue(options.env, "ZTNA_ENDPOINT_CREDENTIALS");
  if (fromEnv !== undefined) {
    const parsed = parseEndpointCredentials(fromEnv.trim());
    if (parsed.ok) return parsed.value;
    throw new ConfigError({
      file: "environment",
      keyPath: "ZTNA_ENDPOINT_CREDENTIALS",
      problem: parsed.reason,
    });
  }
  if (options.file === undefined) return undefined;
  const line = (await readNeededFile(where, options.file)).split("\n", 1)[0].trim();
  const parsed = parseEndpointCredentials(line);
  if (parsed.ok) return parsed.value;
  throw new ConfigError({
    ...where,
    problem: `file does not hold user:password: ${parsed.reason}`,
  });
}

/**
 * A proxy endpoint off loopback without credentials: the error that names its key.
 * Pure. @returns undefined when every endpoint is on loopback or credentials exist
 */
export function exposedEndpoint(
  config: { socks?: string; http_proxy?: string },
  label: string,
  hasCredentials: boolean,
): ConfigError | undefined {
  if (hasCredentials) return undefined;
  for (const key of ["socks", "http_proxy"] as const) {
    const value = config[key];
    if (value === undefined) continue;
    const addr = parseHostPort(value);
    if (!addr.ok || isLoopbackHost(addr.value.hostname)) continue;
    return new ConfigError({
      file: label,
      keyPath: `client.${key}`,
      problem: `${value} is not a loopback address; an endpoint bound elsewhere lets anyone who ` +
        "reaches it use this client's token unless it asks for credentials: set " +
        "client.endpoint_credentials_file (a file holding user:password) or " +
        "ZTNA_ENDPOINT_CREDENTIALS, or use 127.0.0.1",
    });
  }
  return undefined;
}

/** `endpoint_credentials_file` made absolute against the config file's folder. */
export function resolveEndpointPath<T extends { endpoint_credentials_file?: string }>(
  config: T,
  base: string,
): T {
  return config.endpoint_credentials_file === undefined ? config : {
    ...config,
    endpoint_credentials_file: resolveAgainst(base, config.endpoint_credentials_file),
  };
}

/** A variable of this process, or undefined where the permission set does not grant it. */
function processEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * The endpoint credentials of a client config, read where the client runs (its sandbox Worker):
 * the loader checked them at start and at each reload.
 * @throws {ConfigError} for an unreadable file or bad text
 */
export function clientEndpointCredentials(
  config: { endpoint_credentials_file?: string },
): Promise<EndpointCredentials | undefined> {
  return resolveEndpointCredentials(
    { file: "config", keyPath: "client.endpoint_credentials_file" },
    {
      file: config.endpoint_credentials_file,
      env: { ZTNA_ENDPOINT_CREDENTIALS: processEnv("ZTNA_ENDPOINT_CREDENTIALS") },
    },
  );
}
