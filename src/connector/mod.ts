/**
 * The connector role: one reconnecting session per configured relay, serving only the configured
 * backends.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RunContext } from "../cli/run_context.ts";
import type { ConnectorConfig } from "../config/schema.ts";
import { keepConnected } from "../transport/reconnect.ts";
import { BackendTable } from "./backend_dialer.ts";
import { runRelayLink } from "./relay_link.ts";
import { UdpBudget, UdpDrops } from "./udp_flows.ts";

const log = getLogger(["ztna", "connector"]);

/** Runs the connector until `ctx.signal` aborts; then closes every relay connection at once. */
export async function runConnector(
  config: ConnectorConfig,
  token: string,
  ctx: RunContext,
): Promise<void> {
  const backends = new BackendTable(config.service);
  const udpBudget = new UdpBudget(config.max_udp_flows, config.max_udp_flows_per_identity);
  const udpDrops = new UdpDrops();
  const caCerts = config.ca ? [await Deno.readTextFile(config.ca)] : undefined;
  log.info("Connector serving {services} through {count} relay(s)", {
    services: backends.services.join(", "),
    count: config.relays.length,
  });
  await Promise.all(config.relays.map((target) =>
    keepConnected(
      () =>
        runRelayLink(target, {
          config,
          token,
          caCerts,
          backends,
          udpBudget,
          udpDrops,
          signal: ctx.signal,
          log,
        }),
      {
        label: target.address,
        log,
        signal: ctx.signal,
        minMs: config.reconnect_min_ms,
        maxMs: config.reconnect_max_ms,
      },
    )
  ));
  log.info("Connector stopped");
}
