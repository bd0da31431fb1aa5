/**
 * The connector's status endpoint (`[connector] status_listen`): bound by main before it drops its
 * network, it asks every live egress Worker for its counters at each request and adds the totals of
 * Workers a reload retired, so counters only grow (runtime/status_endpoint.ts serves them).
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { parseHostPort } from "../protocol/mod.ts";
import { promLabel, PromText, serveStatusEndpoint } from "../runtime/status_endpoint.ts";
import type { DataPlanes } from "./data_planes.ts";
import type { WorkerStats } from "./connector_stats.ts";

/** How long a request waits for a Worker's counters. */
const STATS_TIMEOUT_MS = 1_000;

type Flow = WorkerStats["flows"][number];

/** Everything one request reports, summed over the data planes. */
interface Totals {
  planes: Array<{ current: boolean; stats: WorkerStats | undefined }>;
  flows: Map<string, Flow>;
  refusals: Map<string, number>;
  udpDrops: Map<string, number>;
}

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
    const totals: Totals = {
      planes: read.map((stats, i) => ({ current: i === 0, stats })),
      flows: new Map(),
      refusals: new Map(),
      udpDrops: new Map(),
    };
    for (const stats of [...this.#retired, ...read]) {
      if (!stats) continue;
      for (const f of stats.flows) {
        const key = `${f.service}\u0000${f.protocol}`;
        const t = totals.flows.get(key) ??
          { ...f, opened: 0, active: 0, fromBackend: 0, toBackend: 0 };
        t.opened += f.opened;
        t.active += f.active;
        t.fromBackend += f.fromBackend;
        t.toBackend += f.toBackend;
        totals.flows.set(key, t);
      }
      for (const r of stats.refusals) {
        const key = `${r.service}\u0000${r.code}`;
        totals.refusals.set(key, (totals.refusals.get(key) ?? 0) + r.count);
      }
      for (const d of stats.udpDrops) {
        totals.udpDrops.set(d.reason, (totals.udpDrops.get(d.reason) ?? 0) + d.count);
      }
    }
    return totals;
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
      refusals: [...t.refusals].map(([key, count]) => {
        const [service, code] = key.split("\u0000");
        return { service, code, count };
      }),
      udp_drops: Object.fromEntries(t.udpDrops),
    };
  }

  /** `/metrics` in Prometheus text. */
  async prometheus(): Promise<string> {
    const t = await this.#totals();
    const links = new Map<string, number>();
    const registrations = new Map<string, number>();
    for (const p of t.planes) {
      for (const l of p.stats?.links ?? []) {
        links.set(l.relay, (links.get(l.relay) ?? 0) + 1);
        for (const s of l.services) registrations.set(s, (registrations.get(s) ?? 0) + 1);
      }
    }
    for (const s of this.planes.current.config.service) {
      if (!registrations.has(s.id)) registrations.set(s.id, 0);
    }
    const flows = [...t.flows.values()].map((f) => ({
      labels: `service="${promLabel(f.service)}",protocol="${f.protocol}"`,
      f,
    }));
    const refusals = [...t.refusals].map(([key, count]) => {
      const [service, code] = key.split("\u0000");
      return { service: promLabel(service), code: promLabel(code), count };
    });
    return new PromText()
      .metric("ztna_connector_data_planes", "gauge", "Egress Workers running, by state", [
        `ztna_connector_data_planes{state="current"} 1`,
        `ztna_connector_data_planes{state="draining"} ${t.planes.length - 1}`,
      ])
      .metric(
        "ztna_connector_relay_links_up",
        "gauge",
        "Relay sessions up, by relay (a draining data plane keeps its own)",
        [...links].map(([relay, n]) =>
          `ztna_connector_relay_links_up{relay="${promLabel(relay)}"} ${n}`
        ),
      )
      .metric(
        "ztna_connector_registrations",
        "gauge",
        "Relay sessions on which a service is registered now",
        [...registrations].map(([s, n]) =>
          `ztna_connector_registrations{service="${promLabel(s)}"} ${n}`
        ),
      )
      .metric(
        "ztna_connector_flows_opened_total",
        "counter",
        "Flows (relayed or direct) that reached their backend, by service and protocol",
        flows.map(({ labels, f }) => `ztna_connector_flows_opened_total{${labels}} ${f.opened}`),
      )
      .metric(
        "ztna_connector_flows_active",
        "gauge",
        "Flows open now (relayed or direct), by service and protocol",
        flows.map(({ labels, f }) => `ztna_connector_flows_active{${labels}} ${f.active}`),
      )
      .metric(
        "ztna_connector_bytes_total",
        "counter",
        "Payload bytes of ended TCP flows, by service and direction",
        flows.filter(({ f }) => f.protocol === "tcp").flatMap(({ f }) => [
          `ztna_connector_bytes_total{service="${
            promLabel(f.service)
          }",direction="to_backend"} ${f.toBackend}`,
          `ztna_connector_bytes_total{service="${
            promLabel(f.service)
          }",direction="from_backend"} ${f.fromBackend}`,
        ]),
      )
      .metric(
        "ztna_connector_drops_total",
        "counter",
        "Flows refused at the connector, by service and reason (the REPLY code)",
        refusals.map((r) =>
          `ztna_connector_drops_total{service="${r.service}",reason="${r.code}"} ${r.count}`
        ),
      )
      .metric(
        "ztna_connector_egress_refusals_total",
        "counter",
        "Backend dials the egress sandbox refused (egress_denied), by service",
        refusals.filter((r) => r.code === "egress_denied").map((r) =>
          `ztna_connector_egress_refusals_total{service="${r.service}"} ${r.count}`
        ),
      )
      .metric(
        "ztna_connector_udp_drops_total",
        "counter",
        "UDP datagrams dropped at the connector, by reason",
        [...t.udpDrops].map(([reason, n]) =>
          `ztna_connector_udp_drops_total{reason="${promLabel(reason)}"} ${n}`
        ),
      )
      .toString();
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
