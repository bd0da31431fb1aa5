/**
 * The doctor's name resolution of a relay host, the way the system resolves it (getaddrinfo: the
 * hosts file, then DNS), bounded by a deadline.
 * @module
 */
import { lookup } from "node:dns/promises";
import { deadline, TIMED_OUT } from "../runtime/deadline.ts";
import type { RelayFacts } from "./report.ts";

const IP_LITERAL = /^[\d.]+$|:/;

/** The addresses `hostname` resolves to; an IP address resolves to itself. Never throws. */
export async function resolveRelay(
  hostname: string,
  timeoutMs: number,
): Promise<RelayFacts["dns"]> {
  if (IP_LITERAL.test(hostname)) return { ok: true, addresses: [hostname] };
  try {
    const found = await deadline(lookup(hostname, { all: true }), timeoutMs);
    if (found === TIMED_OUT) return { ok: false, detail: `no answer within ${timeoutMs} ms` };
    if (found.length === 0) return { ok: false, detail: "no address" };
    return { ok: true, addresses: [...new Set(found.map((a) => a.address))] };
  } catch (e) {
    return { ok: false, detail: e instanceof Error ? e.message : String(e) };
  }
}
