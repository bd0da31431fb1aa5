/**
 * The connector's counters summed over its data planes, and their Prometheus text (pure): what
 * `/status` and `/metrics` of the connector's status endpoint (connector_status.ts) report.
 * @module
 */
import { promLabel, PromText } from "../runtime/status_endpoint.ts";
import type { WorkerStats } from "./connector_stats.ts";

type Flow = WorkerStats["flows"][number];

/** Everything one request reports, summed over the data planes. */
export interface Totals {
  planes: Array<{ current: boolean; stats: WorkerStats | undefined }>;
  flows: Map<string, Flow>;
  refusals: Map<string, number>;
  udpDrops: Map<string, number>;
}

/**
 * Sums the counters of retired Workers and of the live ones (`live[0]` is the current data
 * plane; undefined: a Worker that did not answer in time).
 */
export function sumStats(
  live: ReadonlyArray<WorkerStats | undefined>,
  retired: readonly WorkerStats[],
): Totals {
  const totals: Totals = {
    planes: live.map((stats, i) => ({ current: i === 0, stats })),
    flows: new Map(),
    refusals: new Map(),
    udpDrops: new Map(),
  };
  for (const stats of [...retired, ...live]) {
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

/** The summed refusals, one row per service and code. */
export function refusalRows(t: Totals): Array<{ service: string; code: string; count: number }> {
  return [...t.refusals].map(([key, count]) => {
    const [service, code] = key.split("\u0000");
    return { service, code, count };
  });
}

/** `/metrics` of the connector: its relay links, then its flows. `services`: the configured ids. */
export function connectorMetrics(t: Totals, services: readonly string[]): string {
  const text = new PromText();
  linkMetrics(text, t, services);
  flowMetrics(text, t);
  return text.toString();
}

/** Data planes, relay sessions up by relay, and registrations by service (0 when none). */
function linkMetrics(text: PromText, t: Totals, services: readonly string[]): void {
  const links = new Map<string, number>();
  const registrations = new Map<string, number>();
  for (const p of t.planes) {
    for (const l of p.stats?.links ?? []) {
      links.set(l.relay, (links.get(l.relay) ?? 0) + 1);
      for (const s of l.services) registrations.set(s, (registrations.get(s) ?? 0) + 1);
    }
  }
  for (const id of services) {
    if (!registrations.has(id)) registrations.set(id, 0);
  }
  text
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
    );
}

/** Flows opened and active, TCP bytes, refusals (all, and the egress sandbox's), UDP drops. */
function flowMetrics(text: PromText, t: Totals): void {
  const flows = [...t.flows.values()].map((f) => ({
    labels: `service="${promLabel(f.service)}",protocol="${f.protocol}"`,
    f,
  }));
  const refusals = refusalRows(t).map(({ service, code, count }) => ({
    service: promLabel(service),
    code: promLabel(code),
    count,
  }));
  text
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
      "Payload bytes of ended flows (TCP and UDP), by service and direction",
      [...bytesByService(flows.map(({ f }) => f))].flatMap(([service, b]) => [
        `ztna_connector_bytes_total{service="${
          promLabel(service)
        }",direction="to_backend"} ${b.to}`,
        `ztna_connector_bytes_total{service="${
          promLabel(service)
        }",direction="from_backend"} ${b.from}`,
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
    );
}

/** Payload bytes per service, its TCP and UDP flows together (the metric has no protocol label). */
function bytesByService(
  flows: { service: string; toBackend: number; fromBackend: number }[],
): Map<string, { to: number; from: number }> {
  const out = new Map<string, { to: number; from: number }>();
  for (const f of flows) {
    const b = out.get(f.service) ?? { to: 0, from: 0 };
    b.to += f.toBackend;
    b.from += f.fromBackend;
    out.set(f.service, b);
  }
  return out;
}
