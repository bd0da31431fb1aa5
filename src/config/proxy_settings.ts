/**
 * A dialer's HTTP proxy settings and credentials: `proxy` and `no_proxy` from its config, else the
 * standard HTTPS_PROXY / NO_PROXY variables (the config wins), and the proxy's `user:password` from
 * ZTNA_PROXY_CREDENTIALS or `proxy_credentials_file` — never from a URL, never printed.
 * @module
 */
import {
  parseProxyCredentials,
  parseProxyUrl,
  type ProxyCredentials,
} from "../protocol/proxy_url.ts";
import { ConfigError } from "./config_error.ts";
import { type Env, envValue } from "./env.ts";
import { type FileKey, readNeededFile } from "./files.ts";

/** The proxy settings of a dialer, from its config or the environment. */
export interface ProxySettings {
  /** The proxy URL (`http://host:port`); absent: no proxy. */
  proxy?: string;
  /** NO_PROXY entries: host suffixes, `host:port`, or `*` for every host. */
  noProxy: readonly string[];
}

/** Splits a NO_PROXY value: commas and whitespace separate entries; empty entries are dropped. */
export function splitNoProxy(text: string): string[] {
  return text.split(/[,\s]+/).map((e) => e.trim()).filter((e) => e !== "");
}

/** The standard variables read, upper case first (it wins when both are set). */
const HTTPS_PROXY_VARS = ["HTTPS_PROXY", "https_proxy"] as const;
const NO_PROXY_VARS = ["NO_PROXY", "no_proxy"] as const;

function firstSet(env: Env, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== "") return { name, value: value.trim() };
  }
  return undefined;
}

/**
 * The dialer's proxy settings: the config's `proxy` and `no_proxy` when given (each wins over its
 * variable), else HTTPS_PROXY / https_proxy and NO_PROXY / no_proxy. HTTP_PROXY is not read: the
 * relay is reached over TLS, which tools send to HTTPS_PROXY.
 * @throws {ConfigError} naming the variable when it holds a bad proxy URL (never its value)
 */
export function proxySettings(
  config: { proxy?: string; no_proxy?: readonly string[] },
  env: Env,
): ProxySettings {
  const noProxy = config.no_proxy ?? splitNoProxy(firstSet(env, NO_PROXY_VARS)?.value ?? "");
  if (config.proxy !== undefined) return { proxy: config.proxy, noProxy };
  const fromEnv = firstSet(env, HTTPS_PROXY_VARS);
  if (fromEnv === undefined) return { noProxy };
  // Many tools accept a bare `host:port` here; read it as http://host:port.
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(fromEnv.value)
    ? fromEnv.value
    : `http://${fromEnv.value}`;
  const parsed = parseProxyUrl(text);
  if (!parsed.ok) {
    throw new ConfigError({ file: "environment", keyPath: fromEnv.name, problem: parsed.reason });
  }
  return { proxy: parsed.value.url, noProxy };
}

/**
 * The proxy's credentials: ZTNA_PROXY_CREDENTIALS if set, else the first line of
 * `proxy_credentials_file`, else none. Errors name the key, never the text.
 * @throws {ConfigError} for an unreadable file or text that is not `user:password`
 */
export async function resolveProxyCredentials(
  where: FileKey,
  options: { file: string | undefined; env: Env },
): Promise<ProxyCredentials | undefined> {
  const fromEnv = envValue(options.env, "ZTNA_PROXY_CREDENTIALS");
  if (fromEnv !== undefined) {
    const parsed = parseProxyCredentials(fromEnv.trim());
    if (parsed.ok) return parsed.value;
    throw new ConfigError({
      file: "environment",
      keyPath: "ZTNA_PROXY_CREDENTIALS",
      problem: parsed.reason,
    });
  }
  if (options.file === undefined) return undefined;
  const parsed = parseProxyCredentials((await readNeededFile(where, options.file)).trim());
  if (parsed.ok) return parsed.value;
  throw new ConfigError({ ...where, problem: "file does not hold user:password (one line)" });
}

/**
 * `config` with `proxy` and `no_proxy` taken from HTTPS_PROXY and NO_PROXY where the file has
 * none, so the role (and its sandbox's network, which must include the proxy) sees one answer.
 * @throws {ConfigError} naming the variable when it holds a bad proxy URL
 */
export function applyProxyEnv<T extends { proxy?: string; no_proxy?: string[] }>(
  config: T,
  env: Env,
): T {
  const settings = proxySettings(config, env);
  return {
    ...config,
    ...(settings.proxy === undefined ? {} : { proxy: settings.proxy }),
    ...(settings.noProxy.length === 0 && config.no_proxy === undefined
      ? {}
      : { no_proxy: [...settings.noProxy] }),
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
 * The proxy credentials of a dialer's config, ZTNA_PROXY_CREDENTIALS read from this process: for
 * the roles, beside where they read their CA (the loader checked both at start).
 * @throws {ConfigError} for an unreadable file or text that is not `user:password`
 */
export function dialerProxyCredentials(
  config: { proxy_credentials_file?: string },
  role: "client" | "connector",
): Promise<ProxyCredentials | undefined> {
  return resolveProxyCredentials({ file: "config", keyPath: `${role}.proxy_credentials_file` }, {
    file: config.proxy_credentials_file,
    env: { ZTNA_PROXY_CREDENTIALS: processEnv("ZTNA_PROXY_CREDENTIALS") },
  });
}
