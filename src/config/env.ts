/**
 * The ZTNA_* environment variables and how they override the file (flag > env > file > default).
 * Pure: callers pass the variables in; nothing here reads the process environment.
 * @module
 */
import { ConfigError } from "./config_error.ts";
import { type LogConfig, LogSection } from "./schema.ts";

/** The environment as a plain record; main.ts reads only the ZTNA_* names below. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Every variable ztna reads, with what it does (listed in `ztna --help`). */
export const ENV_VARS = {
  ZTNA_CONFIG: "config file used when --config is not given",
  ZTNA_TOKEN: "token for connector and client; overrides token_file",
  ZTNA_LOG_LEVEL: "overrides [log] level: debug, info, warning or error",
  ZTNA_LOG_FORMAT: "overrides [log] format: text or json",
  ZTNA_RELAY: "ztna connect and client: relay host:port when --relay is not given",
  ZTNA_SERVER_NAME: "ztna connect and client: relay's TLS name when --server-name is not given",
  ZTNA_CA: "ztna connect and client: CA bundle (file or PEM text) when --ca is not given",
  ZTNA_PROXY_CREDENTIALS: "user:password for the HTTP proxy; overrides proxy_credentials_file",
  ZTNA_ENDPOINT_CREDENTIALS: "client: user:password its socks/http_proxy ask for; over the file",
  HTTPS_PROXY: "connector and client: HTTP proxy to the relays when proxy is not set",
  https_proxy: "as HTTPS_PROXY (HTTPS_PROXY wins when both are set)",
  NO_PROXY: "relays reached without the proxy when no_proxy is not set",
  no_proxy: "as NO_PROXY (NO_PROXY wins when both are set)",
  ZTNA_DB_PASSWORD:
    "relay: PostgreSQL store password; overrides [intermediate.store] password_file",
} as const;

/** Name of a variable in {@link ENV_VARS}. */
export type EnvVar = keyof typeof ENV_VARS;

/** A variable's value, with empty strings treated as unset (as shells and systemd write them). */
export function envValue(env: Env, name: EnvVar): string | undefined {
  const value = env[name];
  return value === undefined || value === "" ? undefined : value;
}

/**
 * Applies ZTNA_LOG_LEVEL and ZTNA_LOG_FORMAT over the file's `[log]` section.
 * @throws {ConfigError} with file `environment` when a variable holds an unknown value
 */
export function applyLogEnv(log: LogConfig, env: Env): LogConfig {
  const level = envValue(env, "ZTNA_LOG_LEVEL");
  const format = envValue(env, "ZTNA_LOG_FORMAT");
  return {
    level: level === undefined
      ? log.level
      : pick(LogSection.shape.level.unwrap().options, level, "ZTNA_LOG_LEVEL"),
    format: format === undefined
      ? log.format
      : pick(LogSection.shape.format.unwrap().options, format, "ZTNA_LOG_FORMAT"),
  };
}

function pick<T extends string>(options: readonly T[], value: string, name: EnvVar): T {
  const found = options.find((option) => option === value);
  if (found !== undefined) return found;
  const expected = options.map((o) => JSON.stringify(o)).join(", ");
  throw new ConfigError({
    file: "environment",
    keyPath: name,
    problem: `expected one of ${expected}, got ${JSON.stringify(value)}`,
  });
}
