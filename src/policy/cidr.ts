/**
 * IP networks in CIDR notation (`192.0.2.0/24`, `2001:db8::/32`) and whether an address is in one:
 * the source-network condition of policy rules. IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`)
 * count as their IPv4 address. Pure: no I/O.
 * @module
 */

/** A parsed network: address family, network bits as a bigint, prefix length. */
export interface Network {
  readonly family: 4 | 6;
  readonly bits: bigint;
  readonly prefix: number;
  /** As written, for explanations. */
  readonly text: string;
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let out = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out = (out << 8n) | BigInt(p);
  }
  return out;
}

function parseV6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.split("::").length > 2) return undefined;
  let tail: bigint[] = [];
  let body = text;
  // A dotted IPv4 tail (::ffff:192.0.2.1) stands for the last two groups.
  const dotted = /(?:^|:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = parseV4(dotted[1]);
    if (v4 === undefined) return undefined;
    tail = [v4 >> 16n, v4 & 0xffffn];
    body = text.slice(0, text.length - dotted[1].length);
    if (body.endsWith(":") && !body.endsWith("::")) body = body.slice(0, -1);
  }
  const [head, rest] = body.split("::");
  const group = (g: string) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? BigInt(`0x${g}`) : undefined);
  const left = head === "" ? [] : head.split(":").map(group);
  const right = rest === undefined || rest === "" ? [] : rest.split(":").map(group);
  if ([...left, ...right].some((g) => g === undefined)) return undefined;
  const given = left.length + right.length + tail.length;
  if (rest === undefined ? given !== 8 : given > 7) return undefined;
  const groups = [
    ...left,
    ...new Array(8 - given).fill(0n),
    ...right,
    ...tail,
  ] as bigint[];
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** An address as a family and a number; IPv4-mapped IPv6 becomes IPv4. Undefined when invalid. */
export function parseAddress(text: string): { family: 4 | 6; bits: bigint } | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const v4 = parseV4(bare);
  if (v4 !== undefined) return { family: 4, bits: v4 };
  const v6 = parseV6(bare.split("%")[0]);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { family: 4, bits: v6 & 0xffffffffn };
  return { family: 6, bits: v6 };
}

/** Parses `address/prefix`; a bare address is a single host. Returns a reason when invalid. */
export function parseNetwork(text: string): Network | string {
  const [addr, prefixText, extra] = text.split("/");
  if (extra !== undefined) return `expected address/prefix, got ${JSON.stringify(text)}`;
  const parsed = parseAddress(addr);
  if (!parsed) {
    return `expected an IPv4 or IPv6 network such as 192.0.2.0/24, got ${JSON.stringify(text)}`;
  }
  const max = parsed.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) {
    return `expected a prefix length from 0 to ${max}, got ${JSON.stringify(text)}`;
  }
  const shift = BigInt(max - prefix);
  const mask = ((1n << BigInt(max)) - 1n) >> shift << shift;
  if ((parsed.bits & mask) !== parsed.bits) {
    return `expected no host bits after /${prefix}, got ${JSON.stringify(text)}`;
  }
  return { family: parsed.family, bits: parsed.bits, prefix, text };
}

/** True when `address` (already parsed) lies in `network`. */
export function inNetwork(address: { family: 4 | 6; bits: bigint }, network: Network): boolean {
  if (address.family !== network.family) return false;
  const shift = BigInt((network.family === 4 ? 32 : 128) - network.prefix);
  return address.bits >> shift === network.bits >> shift;
}
