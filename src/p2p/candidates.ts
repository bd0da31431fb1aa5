/**
 * Direct-path candidates: the addresses a peer may be reached at — the one the relay observed (QAD)
 * first, then the host's own interface addresses on the endpoint's port (two peers behind the same
 * NAT reach each other only there; most NATs do not hairpin).
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { type Candidate, MAX_CANDIDATES } from "../protocol/mod.ts";
import type { RelaySession } from "../transport/mod.ts";

export { MAX_CANDIDATES };

/** The interface facts candidates need (a subset of `Deno.NetworkInterfaceInfo`). */
export interface InterfaceAddress {
  family: "IPv4" | "IPv6";
  address: string;
}

const isLoopbackV4 = (a: string) => a.startsWith("127.");
const isLinkLocalV4 = (a: string) => a.startsWith("169.254.");

/**
 * The candidates to announce: `observed` first, then each IPv4 interface address on `localPort`.
 * Direct endpoints are bound to IPv4 (`0.0.0.0`), so IPv6 addresses are left out; loopback only when
 * the relay itself was reached over loopback (a single-host setup), link-local never. Duplicates are
 * dropped; at most {@link MAX_CANDIDATES}.
 */
export function directCandidates(
  observed: Candidate,
  localPort: number,
  interfaces: readonly InterfaceAddress[],
): Candidate[] {
  const out: Candidate[] = [{ hostname: observed.hostname, port: observed.port }];
  const seen = new Set([`${observed.hostname}:${observed.port}`]);
  const loopbackOk = isLoopbackV4(observed.hostname);
  for (const { family, address } of interfaces) {
    if (out.length >= MAX_CANDIDATES) break;
    if (family !== "IPv4" || isLinkLocalV4(address)) continue;
    if (isLoopbackV4(address) && !loopbackOk) continue;
    const key = `${address}:${localPort}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ hostname: address, port: localPort });
  }
  return out;
}

/**
 * This host's interface addresses, or none when the process may not list them (the `ztna`
 * permission set grants `sys: ["networkInterfaces"]` for this; sandboxes get none).
 */
export function hostInterfaces(): InterfaceAddress[] {
  try {
    return Deno.networkInterfaces().map((i) => ({ family: i.family, address: i.address }));
  } catch {
    return [];
  }
}

/** Takes the relay's `observed` update: later candidates use the new address. */
export function noteObserved(session: RelaySession, update: Candidate, log: Logger): void {
  const before = `${session.observed.hostname}:${session.observed.port}`;
  session.observed = { hostname: update.hostname, port: update.port };
  // Our public address is a peer address to whoever reads the log (I1): debug only.
  log.debug("The relay now sees us at {address} (was {before})", {
    address: `${update.hostname}:${update.port}`,
    before,
  });
}
