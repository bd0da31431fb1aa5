/**
 * Case 6: what the connector's egress Worker sandbox costs. The same client and relay reach the
 * same backend through two connectors: the shipped one (`main.ts --role=connector`, data plane in a
 * Worker whose `net` permission is exactly the relays and backends) and the same data plane run on
 * the main thread (baselines/connector_unsandboxed.ts). Per repetition, each in turn: single-flow
 * upload and download and the 64-byte round trips; each connector's RSS once started (before any
 * traffic: the fair comparison) and after the repetitions (the shipped connector has carried the
 * other cases' traffic too by then).
 * @module
 */
import type { Lab } from "../lab.ts";
import type { BenchOptions } from "../options.ts";
import { rssKiB } from "../proc_stats.ts";
import type { SandboxCase, SandboxPathId, SandboxRep } from "../results_schema.ts";
import { FLOW_METRICS, pairedRatios, spreadOf } from "../stats.ts";
import { rotate, singleFlow, warmUp } from "./tcp.ts";

/** The two connectors, in table order. */
export const SANDBOX_PATHS: ReadonlyArray<{ id: SandboxPathId; label: string }> = [
  { id: "worker", label: "connector data plane in its Worker sandbox (as shipped)" },
  { id: "main", label: "same data plane on the connector's main thread (no sandbox)" },
];

/** Runs case 6. */
export async function runSandboxCase(
  lab: Lab,
  options: BenchOptions,
  ctx: { signal: AbortSignal; log: (line: string) => void },
): Promise<SandboxCase> {
  const { signal, log } = ctx;
  const ztna = await lab.ztna();
  const ports: Record<SandboxPathId, number> = { worker: ztna.tcpPort, main: ztna.coreTcpPort };
  const pids: Record<SandboxPathId, number> = {
    worker: ztna.pids.connector,
    main: ztna.pids.connectorUnsandboxed,
  };
  const idleRss: Record<SandboxPathId, number> = {
    worker: ztna.idleRssKiB.connector,
    main: ztna.idleRssKiB.connectorUnsandboxed,
  };
  // The unsandboxed path has not carried traffic yet: one untimed pass, as the TCP case does.
  await warmUp(ports.main, options, signal);

  const runs: SandboxRep[] = [];
  for (let rep = 1; rep <= options.reps; rep++) {
    for (const [position, p] of rotate(SANDBOX_PATHS, rep - 1).entries()) {
      const m = await singleFlow(ports[p.id], options, signal);
      const run: SandboxRep = {
        path: p.id,
        rep,
        position,
        uploadMbps: m.upload.mbps,
        downloadMbps: m.download.mbps,
        p50Us: m.roundTrips.p50Us,
        p99Us: m.roundTrips.p99Us,
      };
      runs.push(run);
      log(
        `sandbox rep ${rep}/${options.reps} ${p.id}: up ${run.uploadMbps.toFixed(0)}, down ` +
          `${run.downloadMbps.toFixed(0)} Mbit/s; p50 ${run.p50Us.toFixed(0)} µs, p99 ` +
          `${run.p99Us.toFixed(0)} µs`,
      );
    }
  }
  const summary: SandboxCase["summary"] = {};
  for (const p of SANDBOX_PATHS) {
    const r = runs.filter((x) => x.path === p.id);
    const rss = await rssKiB(pids[p.id]);
    if (rss === undefined) throw new Error(`The ${p.label} exited during the measurement`);
    summary[p.id] = {
      ...spreadOf(r, FLOW_METRICS),
      connectorIdleRssKiB: idleRss[p.id],
      connectorRssKiB: rss,
    };
  }
  const worker = runs.filter((x) => x.path === "worker");
  const main = runs.filter((x) => x.path === "main");
  return {
    paths: [...SANDBOX_PATHS],
    runs,
    summary,
    ratios: pairedRatios(worker, main, FLOW_METRICS),
  };
}
