/**
 * Parsing of `host:port` text into a hostname and port, with reasons fit for config errors.
 * Pure: no I/O, no DNS.
 * @module
 */

/** A parsed address; `hostname` has no brackets. */
export interface HostPortValue {
  hostname: string;
  port: number;
}

/** Result of {@link parseHostPort}: the address or a reason naming what is wrong. */
export type HostPortResult = { ok: true; value: HostPortValue } | { ok: false; reason: string };

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

/** Parses `host:port`, `[v6]:port`; port 0 is allowed (bind to any free port). */
export function parseHostPort(text: string): HostPortResult {
  const bad = (why: string): HostPortResult => ({
    ok: false,
    reason: `expected host:port, got ${JSON.stringify(text)}${why ? ` (${why})` : ""}`,
  });
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0 || text[end + 1] !== ":") return bad("IPv6 addresses are written [addr]:port");
    host = text.slice(1, end);
    portText = text.slice(end + 2);
    if (!IPV6.test(host) || !host.includes(":")) return bad("not an IPv6 address");
  } else {
    const colon = text.lastIndexOf(":");
    if (colon <= 0) return bad("");
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) return bad("IPv6 addresses are written [addr]:port");
    if (/^[\d.]+$/.test(host) ? !IPV4.test(host) : !HOSTNAME.test(host)) {
      return bad("not a valid host name or IPv4 address");
    }
  }
  if (!/^\d{1,5}$/.test(portText)) return bad("port must be a number");
  const port = Number(portText);
  if (port > 65_535) return bad("port must be at most 65535");
  return { ok: true, value: { hostname: host, port } };
}

/** Formats an address back to `host:port`, bracketing IPv6. */
export function formatHostPort(addr: HostPortValue): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}
