/**
 * The markdown of cases 8–10 (recovery after kill -9, keep-alive cost, real applications), for
 * report.ts. Pure: no I/O.
 * @module
 */
import type {
  AppPathId,
  AppWorkload,
  BenchResult,
  KeepaliveStep,
  RecoveryScenarioId,
} from "./results_schema.ts";
import type { Spread } from "./stats.ts";

type Input = Omit<BenchResult, "markdown">;

const whole = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const n0 = (n: number) => whole.format(n);
const n1 = (n: number) => n.toFixed(1);
const n2 = (n: number) => n.toFixed(2);
const r3 = (n: number) => n.toFixed(3);

function cell(s: Spread | undefined, format: (n: number) => string): string {
  if (!s) return "—";
  return s.min === s.max
    ? format(s.median)
    : `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}

function table(head: string[], align: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(" | ")} |`,
    `|${align.join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

const SCENARIOS: Record<RecoveryScenarioId, string> = {
  poolMember: "one of two connectors killed (no restart)",
  poolMemberStopped: "one of two connectors stopped (SIGSTOP: silent, like a dead host)",
  onlyConnector: "the only connector killed, restarted at once",
  relay: "the relay killed, restarted at once",
};

/** Case 8. */
export function recoverySection(r: Input): string[] {
  const rec = r.recovery;
  if (!rec) return [];
  const runs = (s: RecoveryScenarioId) => rec.runs.filter((x) => x.scenario === s);
  const max = (s: Spread | undefined) => s ? n0(s.max) : "—";
  return [
    "### 8. Recovery after kill -9",
    "",
    `${rec.runs.length / Object.keys(rec.summary).length} runs per scenario, shipped timers on ` +
    "every process; new connections (one HTTP request on a fresh TCP connection each) from 2–4 " +
    "loops through the client's forward. Times in ms after the kill; cells: median (min–max).",
    "",
    ...table(
      ["what died", "first success ms", "max", "failed connections", "of", "slowest ms"],
      ["---", "---:", "---:", "---:", "---:", "---:"],
      (Object.keys(SCENARIOS) as RecoveryScenarioId[]).filter((s) => rec.summary[s]).map((s) => {
        const sum = rec.summary[s];
        const attempts = runs(s).reduce((a, x) => a + x.attempts, 0);
        const failed = runs(s).reduce((a, x) => a + x.failed, 0);
        return [
          SCENARIOS[s],
          cell(sum?.firstSuccessMs, n0),
          max(sum?.firstSuccessMs),
          `${cell(sum?.failed, n0)} per run, ${n0(failed)} in all`,
          n0(attempts),
          cell(sum?.slowestMs, n0),
        ];
      }),
    ),
    "",
  ];
}

function keepaliveRow(s: KeepaliveStep): string[] {
  return [
    s.series === "shipped"
      ? `shipped: keep-alive ${s.keepaliveMs / 1_000} s, idle ${s.dialerIdleTimeoutMs / 1_000} s`
      : `baseline: keep-alive ${s.keepaliveMs / 1_000} s`,
    s.step === 0
      ? "0 (relay alone)"
      : `${n0(s.open)} alive of ${n0(s.step)} (${s.loadProcesses} load processes)`,
    n0(s.closed),
    s.relaySocketDrops === undefined
      ? n0(s.rcvbufDrops)
      : `${n0(s.rcvbufDrops)} (relay ${n0(s.relaySocketDrops)})`,
    n1(s.relayCpuPercent),
    n0(s.packetsPerSecond),
    s.open > 0 ? n2(s.packetsPerSecond / s.open) : "—",
    n1(s.loadCpuPercent),
    n0(s.relayRssKiB / 1024),
  ];
}

/** Case 9. */
export function keepaliveSection(r: Input): string[] {
  const k = r.keepalive;
  if (!k) return [];
  const a = k.at10k;
  return [
    "### 9. Keep-alive cost at idle clients",
    "",
    `Packets: ${k.counter}. Relay CPU: its CPU time per wall second (% of one core), over a ` +
    "window of 8 s or one keep-alive period, whichever is longer, after 4 s of settling. " +
    "Alive: clients opened and not closed by an idle timeout; per-client figures are per alive " +
    "client. Buffer drops: datagrams the kernel dropped on a full socket receive buffer since " +
    "the series' relay started (opening included).",
    "",
    ...table(
      [
        "timers",
        "idle clients",
        "closed",
        "buffer drops",
        "relay CPU %",
        "packets/s",
        "per client",
        "load CPU %",
        "relay RSS MiB",
      ],
      ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"],
      k.steps.map(keepaliveRow),
    ),
    "",
    `At 10,000 idle clients (${
      a.extrapolated
        ? "extrapolated linearly per alive client from the largest step where none closed"
        : "measured"
    }): ` +
    `shipped **${n1(a.relayCpuPercent)} % CPU, ${n0(a.packetsPerSecond)} packets/s**; 20 s ` +
    `baseline ${n1(a.baselineCpuPercent)} % CPU, ${n0(a.baselinePacketsPerSecond)} packets/s.`,
    "",
  ];
}

const WORKLOADS: Record<AppWorkload, string> = {
  pgSelect: "pgbench select-only",
  pgTpcb: "pgbench TPC-B-like",
  wrk: "wrk HTTP keep-alive",
};

/** Case 10. */
export function appsSection(r: Input): string[] {
  const apps = r.apps;
  if (!apps) return [];
  const label = (id: AppPathId) => apps.paths.find((p) => p.id === id)?.label ?? id;
  const opt = (n: number | undefined) => n === undefined ? "—" : r3(n);
  return [
    "### 10. Real applications",
    "",
    `${apps.seconds} s per run; pgbench: ${apps.pgClients} clients, scale 1, TLS (verify-full) to ` +
    `PostgreSQL on every path, latency = pgbench's average; wrk: ${apps.wrkConnections} ` +
    "keep-alive connections, 2 threads, latency = p50. One run per path, paths one after the other.",
    "",
    ...table(
      [
        "workload",
        "path",
        "tx or req/s",
        "latency ms",
        "÷ direct tps",
        "÷ direct latency",
        "÷ ssh -J tps",
        "÷ ssh -J latency",
        "errors",
      ],
      ["---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:"],
      apps.runs.map((run) => {
        const ratio = apps.ratios.find((x) => x.workload === run.workload && x.path === run.path);
        return [
          WORKLOADS[run.workload],
          label(run.path),
          n0(run.tps),
          run.p99Ms === undefined
            ? n2(run.latencyMs)
            : `${n2(run.latencyMs)} (p99 ${n2(run.p99Ms)})`,
          opt(ratio?.tpsToDirect),
          opt(ratio?.latencyToDirect),
          opt(ratio?.tpsToSshJ),
          opt(ratio?.latencyToSshJ),
          n0(run.errors),
        ];
      }),
    ),
    "",
  ];
}
