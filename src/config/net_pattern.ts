/**
 * Patterns of `learn_relays`: which relays learnt from the fleet a client or connector may dial.
 * A pattern is a host name or IPv4 prefix, with or without a port (`relay2.example.com:443`,
 * `192.0.2.0/24:443`, `198.51.100.0/24`); the same text is a Deno net permission entry, so the
 * sandbox admits exactly what the check in code admits. Pure: no I/O, no DNS.
 * @module
 */
import { parseHostPort } from "../protocol/address.ts";

/** A parsed pattern; `port` absent means every port. */
export type NetPattern =
  | { kind: "prefix"; base: number; bits: number; port?: number; text: string }
  | { kind: "host"; host: string; port?: number; text: string };

/** Result of {@link parseNetPattern}. */
export type NetPatternResult = { ok: true; value: NetPattern } | { ok: false; reason: string };

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** An IPv4 address as a 32-bit number, or undefined. */
function ipv4(text: string): number | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/** Parses one `learn_relays` entry. */
export function parseNetPattern(text: string): NetPatternResult {
  const bad = (why: string): NetPatternResult => ({
    ok: false,
    reason: `expected a host or IPv4 prefix, with an optional :port, got ${
      JSON.stringify(text)
    } (${why})`,
  });
  const slash = text.indexOf("/");
  if (slash >= 0) {
    const rest = text.slice(slash + 1);
    const [bitsText, portText, extra] = rest.split(":");
    const base = ipv4(text.slice(0, slash));
    if (base === undefined) return bad("a prefix is an IPv4 address, then /bits");
    if (extra !== undefined || !/^\d{1,2}$/.test(bitsText) || Number(bitsText) > 32) {
      return bad("bits from 0 to 32");
    }
    const bits = Number(bitsText);
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if (((base & mask) >>> 0) !== base) return bad("the address has bits set past the prefix");
    if (portText === undefined) return { ok: true, value: { kind: "prefix", base, bits, text } };
    const port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65_535) return bad("port 1 to 65535");
    return { ok: true, value: { kind: "prefix", base, bits, port, text } };
  }
  const withPort = parseHostPort(text);
  if (withPort.ok) {
    if (withPort.value.port === 0) return bad("port 1 to 65535");
    return {
      ok: true,
      value: { kind: "host", ...withPort.value, host: withPort.value.hostname, text },
    };
  }
  const bare = parseHostPort(`${text}:1`);
  if (!bare.ok || text.startsWith("[")) return bad("not a host name or IPv4 address");
  return { ok: true, value: { kind: "host", host: bare.value.hostname, text } };
}

/** True when `address` (`host:port`) falls in `pattern`; names match exactly, case aside. */
export function matchesNetPattern(pattern: NetPattern, address: string): boolean {
  const parsed = parseHostPort(address);
  if (!parsed.ok) return false;
  const { hostname, port } = parsed.value;
  if (pattern.port !== undefined && pattern.port !== port) return false;
  if (pattern.kind === "host") return pattern.host.toLowerCase() === hostname.toLowerCase();
  const ip = ipv4(hostname);
  if (ip === undefined) return false;
  const mask = pattern.bits === 0 ? 0 : (~0 << (32 - pattern.bits)) >>> 0;
  return ((ip & mask) >>> 0) === pattern.base;
}

/**
 * Parses `learn_relays` as the schema already checked it.
 * @throws {RangeError} naming the entry when one is not a pattern (the schema let it through)
 */
export function learnPatterns(entries: readonly string[]): NetPattern[] {
  return entries.map((text) => {
    const parsed = parseNetPattern(text);
    if (!parsed.ok) throw new RangeError(`Cannot use learn_relays: ${parsed.reason}`);
    return parsed.value;
  });
}
