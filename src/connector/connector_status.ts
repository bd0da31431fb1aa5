/**
 * The connector's status endpoint (`[connector] status_listen`): bound by main before it drops its
 * network, it asks every live egress Worker for its counters at each request and adds the totals of
 * Workers a reload retired, so counters only grow (status_totals.ts sums and renders them;
 * runtime/status_endpoint.ts serves them).
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { parseHostPort } from "../protocol/mod.ts";
import { serveStatusEndpoint } from "../runtime/status_endpoint.ts";
import type { DataPlanes } from "./data_planes.ts";
import type { WorkerStats } from "./connector_stats.ts";
import { connectorMetrics, refusalRows, sumStats, type Totals } from "./status_totals.ts";

/** How long a request waits for a Worker's counters. */
const STATS_TIMEOUT_MS = 1_000;

/** Counters of retired Workers plus a fresh read of the live ones. */
export class ConnectorStatus {
  readonly startedAt = Date.now();
  readonly #retired: WorkerStats[] = [];

  constructor(readonly planes: DataPlanes) {
    planes.onRetired = (stats) => {
      // Active flows of a stopped Worker are 0 by definition; its links are gone.
      this.#retired.push({
        ...stats,
        links: [],
        flows: stats.flows.map((f) => ({ ...f, active: 0 })),
      });
    };
  }

  async #totals(): Promise<Totals> {
    const live = this.planes.all();
    const read = await Promise.all(live.map((p) => p.worker.stats(STATS_TIMEOUT_MS)));
    return sumStats(read, this.#retired);
  }

  /** `/status`: the services, each data plane's relay links, the summed counters. */
  async status(): Promise<Record<string, unknown>> {
    const t = await this.#totals();
    return {
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      services: this.planes.current.config.service.map((s) => ({
        id: s.id,
        backend: s.backend,
        protocol: s.protocol,
      })),
      data_planes: t.planes.map((p) => ({
        current: p.current,
        draining: p.stats?.draining ?? null,
        answered: p.stats !== undefined,
        links: p.stats?.links ?? [],
      })),
      flows: [...t.flows.values()],
      refusals: refusalRows(t),
      udp_drops: Object.fromEntries(t.udpDrops),
    };
  }

  /** `/metrics` in Prometheus text. */
  async prometheus(): Promise<string> {
    const services = this.planes.current.config.service.map((s) => s.id);
    return connectorMetrics(await this.#totals(), services);
  }
}

/**
 * Serves the status of `planes` on `listen` until `signal`.
 * @throws {Error} naming `connector.status_listen` when the address cannot be bound
 */
export function serveConnectorStatus(
  listen: string,
  planes: DataPlanes,
  signal: AbortSignal,
  log: Logger,
): Deno.HttpServer<Deno.NetAddr> {
  const addr = parseHostPort(listen);
  if (!addr.ok) throw new RangeError(`connector.status_listen: ${addr.reason}`);
  const status = new ConnectorStatus(planes);
  try {
    return serveStatusEndpoint(
      addr.value,
      {
        metrics: () => status.prometheus(),
        status: () => status.status(),
      },
      signal,
      log,
    );
  } catch (error) {
    const why = error instanceof Deno.errors.AddrInUse
      ? "address in use: another program listens there; set connector.status_listen to a free port"
      : error instanceof Error
      ? error.message.split(" (os error")[0]
      : String(error);
    throw new Error(`Cannot listen on ${listen} (connector.status_listen): ${why}`, {
      cause: error,
    });
  }
}
