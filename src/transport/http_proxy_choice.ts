/**
 * Which HTTP proxy, if any, leads to a relay: the dialer's proxy settings (config over HTTPS_PROXY
 * and NO_PROXY, src/config/proxy_settings.ts) matched against the relay's host and port.
 * Pure: no I/O.
 * @module
 */
import { parseProxyUrl, type ProxyEndpoint } from "../protocol/proxy_url.ts";
import type { ProxySettings } from "../config/proxy_settings.ts";

export { parseProxyUrl, type ProxyEndpoint, type ProxyUrlResult } from "../protocol/proxy_url.ts";

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
