/**
 * Renders a bench run as markdown: one row per path with "median (min–max)" cells, then the ztna ÷
 * pipe ratios with PASS/MISS against their targets. Pure: no I/O.
 * @module
 */
import type { MachineInfo } from "./machine_info.ts";
import type { BenchOptions } from "./options.ts";
import {
  type Metric,
  pairedRatio,
  type PathId,
  PATHS,
  ratios,
  type RepMetrics,
  type Spread,
  spread,
} from "./stats.ts";

/** What the report is made of. */
export interface ReportInput {
  /** Day of the run, YYYY-MM-DD (UTC). */
  date: string;
  machine: MachineInfo;
  options: Pick<BenchOptions, "reps" | "mib" | "rtts" | "warmup">;
  /** Per path, one entry per repetition. */
  metrics: Record<PathId, RepMetrics[]>;
  /** Wall time of the measurements in seconds. */
  durationS: number;
}

const COLUMNS: ReadonlyArray<{ metric: Metric; title: string }> = [
  { metric: "uploadMbps", title: "upload Mbit/s" },
  { metric: "downloadMbps", title: "download Mbit/s" },
  { metric: "p50Us", title: "p50 µs" },
  { metric: "p99Us", title: "p99 µs" },
];

const whole = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function cell(s: Spread, format: (n: number) => string): string {
  return `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}

/** Three decimals, so a value just under a target never prints as the target (0.697, not 0.70). */
function ratio(n: number): string {
  return n.toFixed(3);
}

/** The results table and the ratios, as markdown (also what `latest.md` holds). */
export function renderReport(input: ReportInput): string {
  const { machine, options, metrics } = input;
  const lines: string[] = [];
  lines.push(`## ztna bench, ${input.date}`);
  lines.push("");
  lines.push(
    `Loopback, ${machine.cores} cores (${machine.cpuModel}), Deno ${machine.deno}, ${machine.os}; ` +
      `load average at start ${machine.loadavgAtStart.map((l) => l.toFixed(2)).join(" / ")}. ` +
      `${options.reps} repetition${
        options.reps === 1 ? "" : "s"
      } per path, ${options.mib} MiB per transfer, ` +
      `${options.rtts} round trips of 64 B after ${options.warmup} warm-up; ` +
      `measured in ${Math.round(input.durationS)} s.`,
  );
  lines.push(
    "Cells: median (min–max) over the repetitions; p50/p99 are per-repetition percentiles.",
  );
  lines.push("");
  lines.push(`| path | ${COLUMNS.map((c) => c.title).join(" | ")} |`);
  lines.push(`|---|${COLUMNS.map(() => "---:").join("|")}|`);
  for (const p of PATHS) {
    const reps = metrics[p.id];
    const cells = COLUMNS.map((c) =>
      cell(spread(reps.map((r) => r[c.metric])), (n) => whole.format(n))
    );
    lines.push(`| ${p.label} | ${cells.join(" | ")} |`);
  }
  lines.push("");
  lines.push("### Ratios: ztna ÷ two-hop QUIC pipe (paired per repetition, median (min–max))");
  lines.push("");
  lines.push("| ratio | value | target | result |");
  lines.push("|---|---:|---|---|");
  for (const r of ratios(metrics.ztna, metrics.pipe)) {
    lines.push(
      `| ${r.name} | ${cell(r.value, ratio)} | ${r.target.op} ${r.target.value.toFixed(2)} | ` +
        `${r.pass ? "PASS" : "MISS"} |`,
    );
  }
  const info: ReadonlyArray<{ name: string; a: PathId; b: PathId; metric: Metric }> = [
    { name: "ztna ÷ pipe, p99 round trip", a: "ztna", b: "pipe", metric: "p99Us" },
    { name: "pipe ÷ direct TCP, upload throughput", a: "pipe", b: "direct", metric: "uploadMbps" },
    {
      name: "pipe ÷ direct TCP, download throughput",
      a: "pipe",
      b: "direct",
      metric: "downloadMbps",
    },
  ];
  for (const i of info) {
    lines.push(
      `| ${i.name} | ${
        cell(pairedRatio(metrics[i.a], metrics[i.b], i.metric), ratio)
      } | — | info |`,
    );
  }
  lines.push("");
  return lines.join("\n");
}
