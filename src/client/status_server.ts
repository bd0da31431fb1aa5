/**
 * The client's local status endpoint: Prometheus `/metrics` and `/status` JSON on a loopback port.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { parseHostPort } from "../protocol/address.ts";
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
  return bindLocal({ listen, protocol: "tcp", key: "client.status_listen" }, () =>
    Deno.serve({
      hostname: addr.value.hostname,
      port: addr.value.port,
      signal,
      onListen: (a) =>
        log.info("Status endpoint on http://{listen}/status and /metrics", {
          listen: `${a.hostname}:${a.port}`,
        }),
    }, (req) => {
      const path = new URL(req.url).pathname;
      if (req.method !== "GET") return new Response("GET only\n", { status: 405 });
      if (path === "/metrics") {
        return new Response(clientStats.prometheus(live()), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      }
      if (path === "/status") return Response.json(clientStats.snapshot(live()));
      return new Response("not found: try /status or /metrics\n", { status: 404 });
    }));
}
