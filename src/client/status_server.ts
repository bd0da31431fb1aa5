/**
 * The client's local status endpoint: Prometheus `/metrics` and `/status` JSON on a loopback port
 * (the shared endpoint of runtime/status_endpoint.ts over the client's counters).
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { parseHostPort } from "../protocol/address.ts";
import { serveStatusEndpoint } from "../runtime/status_endpoint.ts";
import { type ClientLiveState, clientStats } from "./stats.ts";
import { bindLocal } from "./bind_local.ts";

/**
 * Serves `/metrics` and `/status` on `listen` (loopback, checked by the schema) until `signal`.
 * @throws {ForwardBindError} when the address cannot be bound
 */
export function serveStatus(
  listen: string,
  live: () => ClientLiveState,
  signal: AbortSignal,
  log: Logger,
): Deno.HttpServer<Deno.NetAddr> {
  const addr = parseHostPort(listen);
  if (!addr.ok) throw new RangeError(`client.status_listen: ${addr.reason}`);
  return bindLocal(
    { listen, protocol: "tcp", key: "client.status_listen" },
    () =>
      serveStatusEndpoint(
        addr.value,
        {
          metrics: () => clientStats.prometheus(live()),
          status: () => clientStats.snapshot(live()),
        },
        signal,
        log,
      ),
  );
}
