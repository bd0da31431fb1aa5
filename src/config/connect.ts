/**
 * The client config of `ztna connect SERVICE`: the relay, CA and token from flags and ZTNA_*
 * variables, or from a client config file, with no local listener (the flow runs on stdio).
 * @module
 */
import { dirname, resolve } from "node:path";
import { ConfigError } from "./config_error.ts";
import { applyLogEnv, type Env } from "./env.ts";
import { checkPemFile, isInlinePem } from "./files.ts";
import { configErrorMap, issuesToError } from "./issues.ts";
import { parseConfigText, readConfigText, STDIN } from "./load.ts";
import { resolveDialerPaths } from "./paths.ts";
import { type ClientConfig, ClientConnectSection, type LogConfig } from "./schema.ts";
import { resolveToken } from "./token.ts";
import { applyProxyEnv } from "./proxy_settings.ts";
import { parseHostPort } from "../protocol/address.ts";

/** What `ztna connect` was given on its command line (flags already merged with ZTNA_*). */
export interface ConnectSources {
  configPath?: string;
  relay?: string;
  serverName?: string;
  ca?: string;
}

/** The client config and token of `ztna connect`. */
export interface ConnectConfig {
  log: LogConfig;
  config: ClientConfig;
  token: string;
}

const FLAGS = "command line";

/**
 * Builds the client of `ztna connect`: the config file's `[client]` when given, the relay, server
 * name and CA of the flags over it. Logs default to warnings only: an SSH ProxyCommand's stderr is
 * the user's terminal.
 * @throws {ConfigError} for a bad relay address, an unreadable CA or config, no token
 */
export async function loadConnectConfig(sources: ConnectSources, env: Env): Promise<ConnectConfig> {
  let raw: Record<string, unknown> = {};
  let label = FLAGS;
  let format: LogConfig["format"] = "text";
  if (sources.configPath !== undefined) {
    label = sources.configPath === STDIN ? "<stdin>" : sources.configPath;
    const file = parseConfigText(label, await readConfigText(sources.configPath));
    if (file.client === undefined) {
      throw new ConfigError({
        file: label,
        keyPath: "client",
        problem: "section missing (ztna connect reads [client]: relays, ca, token_file)",
      });
    }
    const base = sources.configPath === STDIN ? resolve(".") : dirname(resolve(sources.configPath));
    raw = { ...resolveDialerPaths(file.client, base) };
    format = file.log.format;
  }
  if (sources.relay !== undefined) {
    const addr = parseHostPort(sources.relay);
    if (!addr.ok) {
      throw new ConfigError({ file: FLAGS, keyPath: "--relay", problem: addr.reason });
    }
    raw.relays = [{
      address: sources.relay,
      ...(sources.serverName === undefined ? {} : { server_name: sources.serverName }),
    }];
  } else if (sources.serverName !== undefined && Array.isArray(raw.relays)) {
    raw.relays = raw.relays.map((r: unknown) => ({
      ...(typeof r === "object" && r !== null ? r : {}),
      server_name: sources.serverName,
    }));
  }
  if (sources.ca !== undefined) {
    const ca = isInlinePem(sources.ca) ? sources.ca : resolve(sources.ca);
    if (!isInlinePem(ca)) await checkPemFile({ file: FLAGS, keyPath: "--ca" }, ca);
    raw.ca = ca;
  }
  // One flow on stdio: no listeners, and no direct path (it would be found only after the flow
  // opened, and needs a sandbox open to any address).
  const { forward: _f, socks: _s, http_proxy: _h, status_listen: _st, ...rest } = raw;
  const parsed = ClientConnectSection.safeParse({ ...rest, direct: false }, {
    error: configErrorMap,
    reportInput: true,
  });
  if (!parsed.success) throw issuesToError(label, parsed.error.issues, ClientConnectSection);
  const config = applyProxyEnv(parsed.data, env);
  const token = await resolveToken({ file: label, keyPath: "client.token_file" }, {
    tokenFile: config.token_file,
    env,
  });
  return { log: applyLogEnv({ level: "warning", format }, env), config, token };
}
