/**
 * What `ztna doctor` checks, from the same places the peer reads: a client or connector config
 * file, or (for a client) the relay, TLS name and CA given as flags or ZTNA_* variables; the token
 * from ZTNA_TOKEN or token_file; the proxy from the config or HTTPS_PROXY / NO_PROXY.
 * @module
 */
import {
  ConfigError,
  type Env,
  loadConnectConfig,
  loadRoleConfig,
  parseConfigText,
  readCaBundle,
  readConfigText,
} from "../config/mod.ts";
import { proxySettings, resolveProxyCredentials } from "../config/proxy_settings.ts";
import type { DoctorInput } from "./diagnose.ts";

/** The doctor's command line (flags already merged with ZTNA_*), as src/cli/args.ts parses it. */
export interface DoctorSources {
  configPath?: string;
  relay?: string;
  serverName?: string;
  ca?: string;
  service?: string;
}

/** Deadline of each probe: long enough for a far relay, short enough for a person waiting. */
export const PROBE_TIMEOUT_MS = 5_000;

/**
 * Loads the dialer config the doctor checks.
 * @throws {ConfigError} as the role itself would: bad keys, unreadable files, no token
 */
export async function loadDoctorInput(sources: DoctorSources, env: Env): Promise<DoctorInput> {
  const connectorFile = sources.configPath !== undefined && sources.configPath !== "-" &&
    sources.relay === undefined && await isConnectorFile(sources.configPath);
  const loaded = connectorFile && sources.configPath !== undefined
    ? await loadRoleConfig(sources.configPath, "connector", env)
    : { role: "client" as const, ...await loadConnectConfig(sources, env) };
  if (loaded.role === "intermediate") {
    throw new ConfigError({ file: sources.configPath ?? "", problem: "not a dialer config" });
  }
  const { config, token, role } = loaded;
  const label = sources.configPath ?? "command line";
  return {
    role,
    configLabel: label,
    relays: config.relays,
    ...(config.ca === undefined ? {} : { caCerts: [await readCaBundle(config.ca)] }),
    token,
    proxy: proxySettings(config, env),
    credentials: await resolveProxyCredentials(
      { file: label, keyPath: `${role}.proxy_credentials_file` },
      { file: config.proxy_credentials_file, env },
    ),
    ...(sources.service === undefined ? {} : { service: sources.service }),
    timeoutMs: PROBE_TIMEOUT_MS,
  };
}

/** A file with `[connector]` and no `[client]` is checked as the connector it configures. */
async function isConnectorFile(path: string): Promise<boolean> {
  const file = parseConfigText(path, await readConfigText(path));
  return file.connector !== undefined && file.client === undefined;
}
