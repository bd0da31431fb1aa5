/**
 * The egress sandbox's network allow-list: exactly the configured relays and backends, plus the
 * wildcard binds that outgoing QUIC and per-flow UDP sockets need. Pure.
 * @module
 */
import type { ConnectorConfig } from "../config/schema.ts";

/**
 * Local binds of port 0 only: an ephemeral UDP socket for the QUIC endpoint and one per UDP flow.
 * Binding is not reaching anyone; every destination still has to be in the list.
 */
export const EPHEMERAL_BINDS = ["0.0.0.0:0", "127.0.0.1:0", "[::]:0", "[::1]:0"] as const;

/**
 * `net` permission of the Worker that runs the connector's data plane: the allow-list, or `true`
 * when direct paths are on (peers' addresses are unknown in advance and Deno's permissions cannot
 * be limited to UDP; the allow-list in code still limits backends).
 */
export function egressNetPermissions(config: ConnectorConfig): string[] | true {
  if (config.direct) return true;
  const entries = new Set<string>(EPHEMERAL_BINDS);
  for (const relay of config.relays) entries.add(relay.address);
  // Relays learnt from the fleet: exactly the patterns the connector checks them against.
  for (const pattern of config.learn_relays) entries.add(pattern);
  for (const service of config.service) entries.add(service.backend);
  // An HTTP proxy leading to the relays: `http://host[:port]` (80 when the URL names none).
  const proxy = config.proxy ? URL.parse(config.proxy) : null;
  if (proxy) entries.add(`${proxy.hostname}:${proxy.port === "" ? 80 : proxy.port}`);
  return [...entries];
}
