/** Unit tests of the connector's summed counters and their Prometheus text. */
import assert from "node:assert/strict";
import { connectorMetrics, refusalRows, sumStats } from "./status_totals.ts";
import type { WorkerStats } from "./connector_stats.ts";

function stats(over: Partial<WorkerStats> = {}): WorkerStats {
  return { draining: false, links: [], flows: [], refusals: [], udpDrops: [], ...over };
}

const flow = (opened: number, active: number) => ({
  service: "web",
  protocol: "tcp" as const,
  opened,
  active,
  fromBackend: 10 * opened,
  toBackend: opened,
});

Deno.test("sumStats adds retired and live Workers; an unanswered one counts nothing", () => {
  const t = sumStats(
    [
      stats({
        flows: [flow(2, 1)],
        refusals: [{ service: "web", code: "egress_denied", count: 1 }],
      }),
      undefined,
    ],
    [stats({ flows: [flow(3, 0)], udpDrops: [{ reason: "queue_full", count: 4 }] })],
  );
  assert.deepEqual(t.planes.map((p) => [p.current, p.stats !== undefined]), [[true, true], [
    false,
    false,
  ]]);
  assert.deepEqual([...t.flows.values()], [flow(5, 1)]);
  assert.deepEqual(refusalRows(t), [{ service: "web", code: "egress_denied", count: 1 }]);
  assert.deepEqual(Object.fromEntries(t.udpDrops), { queue_full: 4 });
});

Deno.test("connectorMetrics counts registrations per service, 0 for a configured one not registered", () => {
  const t = sumStats([
    stats({
      links: [{ relay: "relay-a:443", version: 5, services: ["web"] }],
      flows: [flow(1, 1)],
    }),
    stats({ draining: true, links: [{ relay: "relay-a:443", version: 5, services: ["web"] }] }),
  ], []);
  const text = connectorMetrics(t, ["web", "db"]);
  for (
    const line of [
      `ztna_connector_data_planes{state="draining"} 1`,
      `ztna_connector_relay_links_up{relay="relay-a:443"} 2`,
      `ztna_connector_registrations{service="web"} 2`,
      `ztna_connector_registrations{service="db"} 0`,
      `ztna_connector_flows_active{service="web",protocol="tcp"} 1`,
      `ztna_connector_bytes_total{service="web",direction="from_backend"} 10`,
    ]
  ) assert.ok(text.split("\n").includes(line), line);
});
