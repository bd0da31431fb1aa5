/**
 * The markdown of case 12 (ztna over its TCP transport vs over QUIC and the baselines), for
 * report.ts. Pure: no I/O.
 * @module
 */
import type { BenchResult, TransportPathId } from "./results_schema.ts";
import type { Spread } from "./stats.ts";

type Input = Omit<BenchResult, "markdown">;

const n0 = (n: number) => Math.round(n).toLocaleString("en-US");
const n1 = (n: number) => n.toFixed(1);
const r3 = (n: number) => n.toFixed(3);

function cell(s: Spread | undefined, f: (n: number) => string): string {
  if (!s) return "—";
  return s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

/** Case 12. */
export function transportSection(r: Input): string[] {
  const t = r.transport;
  if (!t) return [];
  const o = r.options;
  const label = (id: TransportPathId) => t.paths.find((p) => p.id === id)?.label ?? id;
  const mib = t.runs[0] ? t.runs[0].upload.bytes / (1024 * 1024) : 0;
  const head =
    `| path | upload Mbit/s | download Mbit/s | ${t.flows}× upload Mbit/s | ${t.flows}× ` +
    "download Mbit/s | p50 µs | p99 µs | new connection, first byte ms |";
  const ttfbCount = Math.max(0, ...t.firstBytes.map((f) => f.rep));
  return [
    "### 12. TCP transport: ztna over TLS/TCP vs ztna over QUIC",
    "",
    `${o.reps} repetitions per path; ${n0(mib)} MiB per transfer each way (the ${t.flows} ` +
    `parallel flows share it); ${n0(o.rtts)} round trips of 64 B after ${o.warmup} warm-up; ` +
    `${ttfbCount} new connections per path through its running forward. Cells: median (min–max).`,
    "",
    head,
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...t.paths.map((p) => {
      const s = t.summary[p.id];
      return `| ${p.label} | ${cell(s?.uploadMbps, n0)} | ${cell(s?.downloadMbps, n0)} | ${
        cell(s?.parallelUploadMbps, n0)
      } | ${cell(s?.parallelDownloadMbps, n0)} | ${cell(s?.p50Us, n0)} | ${cell(s?.p99Us, n0)} | ${
        cell(s?.firstByteMs, n1)
      } |`;
    }),
    "",
    "ztna over TCP ÷ each path, paired per repetition (throughput above 1: TCP moves more; " +
    "latency below 1: TCP answers faster):",
    "",
    head.replace("| path |", "| TCP ÷ |").replace(/ Mbit\/s| µs| ms/g, ""),
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...t.ratios.map((x) =>
      `| ${label(x.baseline)} | ${cell(x.uploadMbps, r3)} | ${cell(x.downloadMbps, r3)} | ${
        cell(x.parallelUploadMbps, r3)
      } | ${cell(x.parallelDownloadMbps, r3)} | ${cell(x.p50Us, r3)} | ${cell(x.p99Us, r3)} | ${
        cell(x.firstByteMs, r3)
      } |`
    ),
    "",
    "Relay memory per idle authenticated peer (a fresh relay per transport, one reading):",
    "",
    "| transport | peers open / asked | relay RSS before → with them, MiB | KiB per peer |",
    "|---|---:|---:|---:|",
    ...t.idle.map((i) =>
      `| ${i.transport === "tcp" ? "TCP (TLS over TCP)" : "QUIC"} | ${i.open} / ${i.peers} | ${
        n1(i.baseRssKiB / 1024)
      } → ${n1(i.rssKiB / 1024)} | ${n1(i.kibPerPeer)} |`
    ),
    "",
  ];
}
