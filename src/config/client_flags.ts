/**
 * The client's config from its command line: `--forward`, `--socks`, `--relay`, `--server-name` and
 * `--ca` (or ZTNA_RELAY, ZTNA_SERVER_NAME, ZTNA_CA) alone, or added to a config file's `[client]`.
 * @module
 */
import { dirname, resolve } from "node:path";
import { ConfigError } from "./config_error.ts";
import { applyLogEnv, type Env } from "./env.ts";
import { checkPemFile, isInlinePem } from "./files.ts";
import {
  checkEndpoints,
  parseTomlText,
  readConfigText,
  STDIN,
  validateConfigFile,
} from "./load.ts";
import { resolveEndpointPath } from "./endpoint_credentials.ts";
import type { LoadedConfig } from "./load.ts";
import { resolveDialerPaths } from "./paths.ts";
import { isLoopbackHost, LogSection, ServiceId, TransportProtocol } from "./schema.ts";
import { resolveToken } from "./token.ts";
import { applyProxyEnv } from "./proxy_settings.ts";
import { parseHostPort } from "../protocol/address.ts";

/** What `--role=client` was given (flags already merged with ZTNA_*), as src/cli/args.ts parses. */
export interface ClientFlagSources {
  configPath?: string;
  forward: readonly string[];
  socks?: string;
  relay?: string;
  serverName?: string;
  ca?: string;
}

const FLAGS = "command line";

/** A `[[client.forward]]` entry as TOML would hold it. */
interface RawForward {
  listen: string;
  service: string;
  protocol: TransportProtocol;
}

/**
 * `SERVICE=[HOST:]PORT[/udp]` → a forward; a bare port listens on 127.0.0.1, since a forward is
 * for programs on this machine unless the user says otherwise.
 * @throws {ConfigError} keyed `--forward`, saying what is wrong with the value
 */
export function parseForwardFlag(value: string): RawForward {
  const fail = (problem: string): never => {
    throw new ConfigError({
      file: FLAGS,
      keyPath: "--forward",
      problem: `${problem}, got ${JSON.stringify(value)}`,
      hint: "write --forward SERVICE=127.0.0.1:PORT (or SERVICE=PORT; add /udp for UDP)",
    });
  };
  const eq = value.indexOf("=");
  if (eq <= 0) fail("expected SERVICE=LOCAL_ADDRESS");
  const service = value.slice(0, eq).toLowerCase();
  if (!ServiceId.safeParse(service).success) fail(`${JSON.stringify(service)} is no service id`);
  let listen = value.slice(eq + 1);
  let protocol: TransportProtocol = "tcp";
  const slash = listen.lastIndexOf("/");
  if (slash >= 0) {
    const named = TransportProtocol.safeParse(listen.slice(slash + 1));
    if (!named.success) fail("expected /tcp or /udp after the address");
    else protocol = named.data;
    listen = listen.slice(0, slash);
  }
  if (/^\d+$/.test(listen)) listen = `127.0.0.1:${listen}`;
  const addr = parseHostPort(listen);
  if (!addr.ok) fail(addr.reason);
  return { listen, service, protocol };
}

function flagError(keyPath: string, problem: string): ConfigError {
  return new ConfigError({ file: FLAGS, keyPath, problem });
}

/**
 * Builds the client of `--role=client` with flags: the config file's `[client]` when given, the
 * relay, server name and CA of the flags over it, and their forwards and SOCKS endpoint added.
 * @throws {ConfigError} for a bad flag (named), a bad file key (named), an unreadable CA, no token
 */
export async function loadClientFlagsConfig(
  sources: ClientFlagSources,
  env: Env,
): Promise<Extract<LoadedConfig, { role: "client" }>> {
  let raw: Record<string, unknown> = {};
  let label = FLAGS;
  let base = resolve(".");
  if (sources.configPath !== undefined) {
    label = sources.configPath === STDIN ? "<stdin>" : sources.configPath;
    raw = parseTomlText(label, await readConfigText(sources.configPath));
    if (sources.configPath !== STDIN) base = dirname(resolve(sources.configPath));
  }
  const section = raw.client;
  const client: Record<string, unknown> = typeof section === "object" && section !== null &&
      !Array.isArray(section)
    ? { ...section }
    : {};
  if (sources.relay !== undefined) {
    const addr = parseHostPort(sources.relay);
    if (!addr.ok) throw flagError("--relay", addr.reason);
    client.relays = [{
      address: sources.relay,
      ...(sources.serverName === undefined ? {} : { server_name: sources.serverName }),
    }];
  } else if (sources.serverName !== undefined && Array.isArray(client.relays)) {
    client.relays = client.relays.map((r: unknown) => ({
      ...(typeof r === "object" && r !== null ? r : {}),
      server_name: sources.serverName,
    }));
  }
  if (sources.ca !== undefined) {
    // Relative to the working folder, as a path typed on a command line means.
    const ca = isInlinePem(sources.ca) ? sources.ca : resolve(sources.ca);
    if (!isInlinePem(ca)) await checkPemFile({ file: FLAGS, keyPath: "--ca" }, ca);
    client.ca = ca;
  }
  if (sources.socks !== undefined) {
    const socks = /^\d+$/.test(sources.socks) ? `127.0.0.1:${sources.socks}` : sources.socks;
    const addr = parseHostPort(socks);
    if (!addr.ok) throw flagError("--socks", addr.reason);
    if (!isLoopbackHost(addr.value.hostname)) {
      throw flagError(
        "--socks",
        `${socks} is not a loopback address; anyone who reaches the endpoint would use ` +
          "this client's token: use 127.0.0.1 (an endpoint off loopback needs " +
          "client.endpoint_credentials_file in a config file)",
      );
    }
    client.socks = socks;
  }
  if (sources.forward.length > 0) {
    const fromFile = Array.isArray(client.forward) ? client.forward : [];
    client.forward = [...fromFile, ...sources.forward.map(parseForwardFlag)];
  }
  const file = validateConfigFile(label, { ...raw, client });
  const config = resolveEndpointPath(
    applyProxyEnv(resolveDialerPaths(file.client ?? sectionMissing(label), base), env),
    base,
  );
  await checkEndpoints(config, label, env);
  if (sources.ca === undefined && config.ca !== undefined) {
    await checkPemFile({ file: label, keyPath: "client.ca" }, config.ca);
  }
  // A client that logs in gets its token from the relay after the login, not from a file.
  const token = config.login
    ? ""
    : await resolveToken({ file: label, keyPath: "client.token_file" }, {
      tokenFile: config.token_file,
      env,
    });
  const log = applyLogEnv(
    sources.configPath === undefined ? LogSection.parse({}) : file.log,
    env,
  );
  return { role: "client", log, config, token };
}

/** Unreachable in practice: validation above always has a `[client]` to check. */
function sectionMissing(label: string): never {
  throw new ConfigError({ file: label, keyPath: "client", problem: "section missing" });
}
