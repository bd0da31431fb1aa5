/**
 * Which HTTP proxy, if any, leads to a relay: the proxy URL checked (http only, no credentials in
 * it), the NO_PROXY list matched against the relay's host and port, and the standard HTTPS_PROXY /
 * NO_PROXY variables read under the config (the config wins).
 * Pure: no I/O; the environment is passed in.
 * @module
 */

/** A proxy to send CONNECT requests to, parsed from `http://host:port`. */
export interface ProxyEndpoint {
  hostname: string;
  port: number;
  /** `http://host:port`, for logs and errors (never holds credentials). */
  url: string;
}

/** Result of {@link parseProxyUrl}: the endpoint, or a reason fit for a config error. */
export type ProxyUrlResult = { ok: true; value: ProxyEndpoint } | { ok: false; reason: string };

/** The proxy settings of a dialer, from its config or the environment. */
export interface ProxySettings {
  /** The proxy URL as written (`http://host:port`); absent: no proxy. */
  proxy?: string;
  /** NO_PROXY entries: host suffixes, `host:port`, or `*` for every host. */
  noProxy: readonly string[];
}

/** Port of an `http://` proxy URL that names none (the URL standard's default for http). */
const HTTP_DEFAULT_PORT = 80;

/**
 * Parses a proxy URL. Only `http://host[:port]` with nothing after the authority: the CONNECT
 * tunnel carries TLS to the relay end to end, so a TLS hop to the proxy would add nothing the relay
 * check does not already give, and Deno offers no TLS-in-TLS on one connection. Credentials are
 * refused here: they belong in `proxy_credentials_file` or ZTNA_PROXY_CREDENTIALS, never in a
 * config file or variable that others read and logs print.
 */
export function parseProxyUrl(text: string): ProxyUrlResult {
  const bad = (why: string): ProxyUrlResult => ({ ok: false, reason: why });
  const url = URL.parse(text);
  if (url === null || !/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    return bad('expected a URL like "http://proxy.example.com:3128"');
  }
  if (url.username !== "" || url.password !== "") {
    return bad(
      "expected no credentials in the proxy URL (they would show wherever the URL does): " +
        "put user:password in proxy_credentials_file or ZTNA_PROXY_CREDENTIALS",
    );
  }
  if (url.protocol !== "http:") {
    return bad(
      `expected an http:// proxy URL, got ${url.protocol}// (the tunnel to the relay is TLS ` +
        "end to end; proxies spoken to over TLS are not supported)",
    );
  }
  if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "") {
    return bad('expected nothing after host:port in the proxy URL, e.g. "http://proxy:3128"');
  }
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  if (hostname === "") return bad("expected a host in the proxy URL");
  const port = url.port === "" ? HTTP_DEFAULT_PORT : Number(url.port);
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return { ok: true, value: { hostname, port, url: `http://${host}:${port}` } };
}

/** Splits a NO_PROXY value: commas and whitespace separate entries; empty entries are dropped. */
export function splitNoProxy(text: string): string[] {
  return text.split(/[,\s]+/).map((e) => e.trim()).filter((e) => e !== "");
}

/** `host[:port]` of a NO_PROXY entry, IPv6 in brackets or bare; lower case, no leading dots. */
function entryParts(entry: string): { host: string; port?: number } {
  let host = entry.toLowerCase();
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (bracketed) {
    host = bracketed[1];
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if ((host.match(/:/g) ?? []).length === 1) {
    const [h, p] = host.split(":");
    if (/^\d+$/.test(p)) {
      host = h;
      port = Number(p);
    }
  }
  return { host: host.replace(/^\*?\.+/, ""), port };
}

/**
 * Whether a NO_PROXY list exempts `hostname:port`, as curl and most tools read it: `*` exempts
 * every host; an entry exempts its host and every name under it (`example.com` and `.example.com`
 * both cover `relay.example.com`); an IP address only itself; `host:port` only that port. Case does
 * not matter. CIDR ranges are not read (an entry like `10.0.0.0/8` matches nothing).
 */
export function noProxyMatches(list: readonly string[], hostname: string, port: number): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  for (const entry of list) {
    if (entry.trim() === "*") return true;
    const e = entryParts(entry.trim());
    if (e.host === "") continue;
    if (e.port !== undefined && e.port !== port) continue;
    if (host === e.host || host.endsWith(`.${e.host}`)) return true;
  }
  return false;
}

/**
 * The proxy for a relay at `hostname:port`, or undefined when it is reached directly (no proxy, or
 * NO_PROXY exempts it).
 * @throws {RangeError} when `settings.proxy` is not a valid proxy URL (the config already refused
 *   such a value; an environment variable is checked by {@link proxySettingsFromEnv})
 */
export function proxyFor(
  settings: ProxySettings,
  hostname: string,
  port: number,
): ProxyEndpoint | undefined {
  if (settings.proxy === undefined) return undefined;
  if (noProxyMatches(settings.noProxy, hostname, port)) return undefined;
  const parsed = parseProxyUrl(settings.proxy);
  if (!parsed.ok) throw new RangeError(`Cannot use proxy: ${parsed.reason}`);
  return parsed.value;
}

/** The variables {@link proxySettingsFromEnv} reads, upper case first (it wins when both are set). */
export const PROXY_ENV_VARS = ["HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"] as const;

/** Where a setting came from, for the error that names it. */
export type ProxyEnvName = (typeof PROXY_ENV_VARS)[number];

function firstSet(
  env: Readonly<Record<string, string | undefined>>,
  names: readonly ProxyEnvName[],
): { name: ProxyEnvName; value: string } | undefined {
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
 * @returns the settings, or the variable and reason when a variable holds a bad proxy URL
 */
export function proxySettingsFromEnv(
  config: { proxy?: string; no_proxy?: readonly string[] },
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; value: ProxySettings } | { ok: false; variable: ProxyEnvName; reason: string } {
  const noProxy = config.no_proxy ??
    splitNoProxy(firstSet(env, ["NO_PROXY", "no_proxy"])?.value ?? "");
  if (config.proxy !== undefined) return { ok: true, value: { proxy: config.proxy, noProxy } };
  const fromEnv = firstSet(env, ["HTTPS_PROXY", "https_proxy"]);
  if (fromEnv === undefined) return { ok: true, value: { noProxy } };
  // Many tools accept a bare `host:port` here; read it as http://host:port.
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(fromEnv.value)
    ? fromEnv.value
    : `http://${fromEnv.value}`;
  const parsed = parseProxyUrl(text);
  if (!parsed.ok) return { ok: false, variable: fromEnv.name, reason: parsed.reason };
  return { ok: true, value: { proxy: parsed.value.url, noProxy } };
}
