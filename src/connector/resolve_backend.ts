/**
 * Resolves a configured backend host name to an address once per UDP flow, so replies can be
 * matched to the exact address the flow talks to.
 * @module
 */
import { ZtnaError } from "../protocol/mod.ts";
import type { Backend } from "./backend_dialer.ts";

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * The backend with a literal IP address.
 * @throws {ZtnaError} backend_unreachable when the name does not resolve
 */
export async function resolveBackend(backend: Backend): Promise<Backend> {
  const host = backend.hostname;
  if (IPV4.test(host) || host.includes(":")) return backend;
  if (host === "localhost") return { ...backend, hostname: "127.0.0.1" };
  for (const type of ["A", "AAAA"] as const) {
    try {
      const found = await Deno.resolveDns(host, type);
      if (found.length > 0) return { ...backend, hostname: found[0] };
    } catch { /* try the next record type */ }
  }
  throw new ZtnaError("backend_unreachable", `cannot resolve backend host "${host}"`);
}
