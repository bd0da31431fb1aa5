/**
 * What each role may touch, derived from its config alone: the `net` list its sandbox Worker gets,
 * the files it reads and writes, and the exact Deno flags `ztna admin permissions` prints for
 * operators who compile or run a per-role binary. Pure: no I/O.
 * @module
 */
import { parseHostPort } from "../protocol/address.ts";
import type { LoadedConfig } from "../config/load.ts";
import type { ClientConfig, IntermediateConfig } from "../config/schema.ts";
import { isInlinePem } from "../config/files.ts";
import { egressNetPermissions, EPHEMERAL_BINDS } from "../connector/sandbox_permissions.ts";

/** A role's config as main.ts loads it, without the token (permissions never depend on it). */
export type RoleConfig =
  | { role: "intermediate"; config: IntermediateConfig }
  | { role: "connector"; config: Extract<LoadedConfig, { role: "connector" }>["config"] }
  | { role: "client"; config: ClientConfig };

/** `host:port` as Deno's net permission spells it (IPv6 in brackets). */
function netEntry(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || hostname.startsWith("127.");
}

/** A host as Deno's net permission spells it without a port (every port of it). */
function netHost(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/** The host:port an https:// URL reaches (port 443 unless named). */
function urlEntry(url: string): string | undefined {
  const parsed = URL.parse(url);
  if (parsed === null) return undefined;
  const hostname = parsed.hostname.replace(/^\[|\]$/g, "");
  const port = parsed.port === "" ? (parsed.protocol === "http:" ? 80 : 443) : Number(parsed.port);
  return netEntry(hostname, port);
}

/** A configured `host:port` normalised the way {@link netEntry} writes it. */
function configuredEntry(value: string): string {
  const parsed = parseHostPort(value);
  return parsed.ok ? netEntry(parsed.value.hostname, parsed.value.port) : value;
}

/**
 * The relay's network: its QUIC listener, its TCP-transport listener when `tcp_listen` names another
 * address, its admin endpoint, and with ACME the CA's directory host
 * (every ACME request of one CA goes to that host) and the HTTP-01 listener. A relay never dials a
 * peer: clients and connectors come to it.
 */
function relayNet(config: IntermediateConfig): string[] {
  const entries = [configuredEntry(config.listen)];
  if (config.tcp_listen !== undefined && config.tcp_listen !== "off") {
    entries.push(configuredEntry(config.tcp_listen));
  }
  if (config.admin.enabled) entries.push(configuredEntry(config.admin.listen));
  if (config.acme.enabled) {
    const directory = urlEntry(config.acme.directory_url);
    if (directory !== undefined) entries.push(directory);
    if (config.acme.challenge === "http-01") entries.push(configuredEntry(config.acme.http_listen));
  }
  // Single sign-on: the identity provider's discovery document and keys (on the issuer's host).
  const issuer = config.oidc ? urlEntry(config.oidc.issuer) : undefined;
  if (issuer !== undefined) entries.push(issuer);
  // The PostgreSQL store: the database's host and port (5432 when the URL names none).
  if (config.store.kind === "postgres") {
    const url = URL.parse(config.store.url);
    if (url !== null) {
      entries.push(
        netEntry(url.hostname.replace(/^\[|\]$/g, ""), url.port === "" ? 5432 : Number(url.port)),
      );
    }
  }
  return entries;
}

/**
 * The client's network: its relays, the binds of port 0 its QUIC endpoint needs, its local
 * listeners. Direct paths dial addresses the relay hands over at run time, so they need any
 * address (`true`), as they do for the connector; so does a UDP forward bound off loopback, which
 * answers each source on its network at that source's address (Deno checks every send).
 */
function clientNet(config: ClientConfig): string[] | true {
  if (config.direct || config.forward.some(answersOffLoopback)) return true;
  const entries = new Set<string>(EPHEMERAL_BINDS);
  for (const relay of config.relays) entries.add(configuredEntry(relay.address));
  // Relays learnt from the fleet: exactly the patterns the client checks them against.
  for (const pattern of config.learn_relays) entries.add(pattern);
  for (const forward of config.forward) {
    entries.add(configuredEntry(forward.listen));
    // A UDP forward answers each local source at its own port: on loopback, that host with any
    // port (Deno checks every send). Sources on other hosts cannot be listed ahead of time.
    const listen = parseHostPort(forward.listen);
    if (forward.protocol === "udp" && listen.ok && isLoopback(listen.value.hostname)) {
      entries.add(netHost(listen.value.hostname));
    }
  }
  if (config.socks) {
    entries.add(configuredEntry(config.socks));
    // UDP ASSOCIATE: a socket bound on the endpoint's (loopback) host sends replies to whatever
    // port the local program sends from, so that host with any port.
    const socks = parseHostPort(config.socks);
    if (socks.ok) entries.add(netHost(socks.value.hostname));
  }
  if (config.http_proxy) entries.add(configuredEntry(config.http_proxy));
  if (config.status_listen) entries.add(configuredEntry(config.status_listen));
  // An HTTP proxy leading to the relays (from the file or HTTPS_PROXY, filled in by the loader).
  const proxy = config.proxy ? urlEntry(config.proxy) : undefined;
  if (proxy !== undefined) entries.add(proxy);
  // `ztna login`: the device flow and refreshes go to the identity provider's host.
  const issuer = config.login ? urlEntry(config.login.issuer) : undefined;
  if (issuer !== undefined) entries.add(issuer);
  return [...entries];
}

/** A UDP forward bound to an address other hosts can send to: its answers go to any of them. */
function answersOffLoopback(forward: ClientConfig["forward"][number]): boolean {
  if (forward.protocol !== "udp") return false;
  const listen = parseHostPort(forward.listen);
  return !listen.ok || !isLoopback(listen.value.hostname);
}

/**
 * The first listener of `next` that the client's sandbox, created with `startNet`, cannot bind: a
 * Worker's permissions are fixed when it starts, so a reload can only use addresses it already has.
 * Relays are not checked here: a reload does not change them.
 */
export function listenerOutsideSandbox(
  startNet: string[] | true,
  next: ClientConfig,
): { keyPath: string; address: string } | undefined {
  if (startNet === true) return undefined;
  // A UDP forward off loopback needs every address (see clientNet), which a started sandbox lacks.
  const udpOff = next.forward.findIndex(answersOffLoopback);
  if (udpOff >= 0) {
    return { keyPath: `client.forward[${udpOff}].listen`, address: next.forward[udpOff].listen };
  }
  const have = new Set(startNet);
  const listeners: Array<[string, string | undefined]> = [
    ...next.forward.map((f, i): [string, string] => [`client.forward[${i}].listen`, f.listen]),
    ["client.socks", next.socks],
    ["client.http_proxy", next.http_proxy],
  ];
  for (const [keyPath, address] of listeners) {
    if (address !== undefined && !have.has(configuredEntry(address))) return { keyPath, address };
  }
  return undefined;
}

/**
 * The `net` permission of a role's sandbox: exactly what its config names (see each role above),
 * or `true` where direct paths need any peer address.
 */
export function roleNetPermissions(loaded: RoleConfig): string[] | true {
  switch (loaded.role) {
    case "intermediate":
      return [...new Set(relayNet(loaded.config))];
    case "connector": {
      // The egress Worker's net, and the status endpoint main binds before it drops its own.
      const egress = egressNetPermissions(loaded.config);
      const status = loaded.config.status_listen;
      return egress === true || status === undefined
        ? egress
        : [...new Set([...egress, configuredEntry(status)])];
    }
    case "client":
      return clientNet(loaded.config);
  }
}

/** Files and folders a role reads and writes, absolute (the loader resolved them). */
export interface RoleFiles {
  read: string[];
  write: string[];
  /** Programs it starts (the ACME dns-01 hook). */
  run: string[];
}

/** The files a role's config names; `configPath` is the config file, or undefined for stdin. */
export function roleFiles(loaded: RoleConfig, configPath: string | undefined): RoleFiles {
  const read: string[] = configPath === undefined ? [] : [configPath];
  const write: string[] = [];
  const run: string[] = [];
  if (loaded.role === "intermediate") {
    const c = loaded.config;
    for (const path of [c.cert, c.key, ...c.token_public_keys, c.revocation_file]) {
      if (path !== undefined) read.push(path);
    }
    if (c.admin.enabled) {
      for (const path of [c.admin.token_hashes_file, c.admin.token_signing_key]) {
        if (path !== undefined) read.push(path);
      }
    }
    if (c.acme.enabled && c.acme.ca_bundle !== undefined) read.push(c.acme.ca_bundle);
    if (c.acme.enabled && c.acme.challenge === "dns-01" && c.acme.dns_hook !== undefined) {
      run.push(c.acme.dns_hook);
    }
    if (c.store.kind === "postgres") {
      for (const path of [c.store.password_file, c.store.ca]) {
        if (path !== undefined) read.push(path);
      }
    }
    read.push(c.state_dir);
    write.push(c.state_dir);
  } else {
    const c = loaded.config;
    if (c.ca !== undefined && !isInlinePem(c.ca)) read.push(c.ca);
    if (c.token_file !== undefined) read.push(c.token_file);
    if (c.proxy_credentials_file !== undefined) read.push(c.proxy_credentials_file);
    if (loaded.role === "client" && loaded.config.endpoint_credentials_file !== undefined) {
      read.push(loaded.config.endpoint_credentials_file);
    }
  }
  return { read: [...new Set(read)], write, run };
}

/** Options of {@link permissionFlags}. */
export interface PermissionFlagsOptions {
  /**
   * The program's own module files and folders: Deno loads a Worker's modules under the read
   * permission when it runs the source (a compiled binary embeds them).
   */
  ownModules: readonly string[];
}

/**
 * The Deno flags that run `loaded`'s role and nothing more: `--allow-net` exactly as its sandbox,
 * read and write exactly the files its config names, the environment variables it reads, and the
 * unstable features it uses. Each entry is one argument (no shell quoting needed).
 */
export function permissionFlags(
  loaded: RoleConfig,
  configPath: string | undefined,
  options: PermissionFlagsOptions,
): string[] {
  const net = roleNetPermissions(loaded);
  const files = roleFiles(loaded, configPath);
  const flags = [
    "--unstable-net",
    "--unstable-worker-options",
    ...(loaded.role === "intermediate" ? ["--unstable-kv"] : []),
    net === true ? "--allow-net" : `--allow-net=${net.join(",")}`,
    `--allow-read=${[...files.read, ...options.ownModules].join(",")}`,
  ];
  if (files.write.length > 0) flags.push(`--allow-write=${files.write.join(",")}`);
  if (files.run.length > 0) flags.push(`--allow-run=${files.run.join(",")}`);
  // The standard proxy variables: main.ts reads every variable of ENV_VARS before it knows the
  // role (only the dialers use them; config proxy and no_proxy win over them).
  const proxyVars = "HTTPS_PROXY,https_proxy,NO_PROXY,no_proxy";
  flags.push(
    loaded.role === "intermediate"
      ? `--allow-env=ZTNA_*,NO_COLOR,GLIBC_TUNABLES,${proxyVars}`
      : `--allow-env=ZTNA_*,NO_COLOR,${proxyVars}`,
  );
  // Direct-path candidates list the host's interfaces; nothing else of `sys` is used.
  if (loaded.role !== "intermediate" && loaded.config.direct) {
    flags.push("--allow-sys=networkInterfaces");
  }
  return flags;
}
