/**
 * Which HTTP proxy, if any, leads to a relay: the dialer's proxy settings (config over HTTPS_PROXY
 * and NO_PROXY, src/config/proxy_settings.ts) matched against the relay's host and port.
 * Pure: no I/O.
 * @module
 */
import { type HostPortValue, parseHostPort } from "../protocol/address.ts";
import { parseProxyUrl, type ProxyCredentials, type ProxyEndpoint } from "../protocol/proxy_url.ts";
import type { ProxySettings } from "../config/proxy_settings.ts";
import { connectTcp } from "./http_proxy.ts";

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
 * not matter. CIDR ranges are not read (such an entry matches nothing).
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

/** How to dial one relay: the transport, and how TCP reaches it (through the proxy or not). */
export interface ProxyPlan {
  transport: "auto" | "quic" | "tcp";
  /** TCP through the proxy; absent: direct. */
  connectTcp?: (target: HostPortValue, signal?: AbortSignal) => Promise<Deno.TcpConn>;
}

/**
 * The dial plan for a relay at `address` under a dialer's `proxy` and `no_proxy` (the loader has
 * filled them from HTTPS_PROXY and NO_PROXY): when a proxy applies, TCP goes through it, and
 * "auto" becomes "tcp" — QUIC is UDP and cannot pass an HTTP proxy; a network that needs one for
 * TCP almost always drops UDP, and a QUIC attempt would only delay the start. An explicit "quic"
 * keeps QUIC and ignores the proxy.
 */
export function proxyPlan(
  config: { proxy?: string; no_proxy?: readonly string[] },
  address: string,
  transport: "auto" | "quic" | "tcp",
  options: { credentials?: ProxyCredentials; timeoutMs?: number } = {},
): ProxyPlan {
  const parsed = parseHostPort(address);
  if (!parsed.ok || transport === "quic") return { transport };
  const settings = { proxy: config.proxy, noProxy: config.no_proxy ?? [] };
  const proxy = proxyFor(settings, parsed.value.hostname, parsed.value.port);
  if (proxy === undefined) return { transport };
  const { credentials, timeoutMs } = options;
  return {
    transport: "tcp",
    connectTcp: (target, signal) =>
      connectTcp(target, { proxy, credentials, ...(timeoutMs ? { timeoutMs } : {}), signal }),
  };
}
