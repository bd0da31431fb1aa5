/**
 * Every target the bench judges, from the results of the cases that ran: PASS, MISS, or n/a when
 * the run could not decide (a case not run, or sizes too small for the target's statement).
 * Pure: no I/O.
 * @module
 */
import { IDLE_TARGET_CONNECTIONS } from "./cases/relay_capacity.ts";
import type {
  RecoveryCase,
  RecoveryScenarioId,
  RelayCase,
  SandboxCase,
  Target,
  TcpCase,
  TransportCase,
  UdpCase,
} from "./results_schema.ts";
import { tcpMetrics } from "./cases/tcp.ts";
import { meets, type Spread, type TargetOp, type TcpMetric, tcpVerdicts } from "./stats.ts";

/** ztna's relay RSS with 10,000 idle clients stays below this. */
export const RELAY_RSS_GOAL_MIB = 1_024;
/** ztna delivers at least this share of the direct datagram hop's packet rate. */
export const UDP_RATE_GOAL = 0.6;
/** Loss when paced at half the maximum stays below this. */
export const UDP_PACED_LOSS_GOAL = 0.01;
/** The Worker sandbox costs under 10 % throughput: sandbox ÷ no sandbox stays at or above this. */
export const SANDBOX_THROUGHPUT_GOAL = 0.9;

const range = (s: Spread, f: (n: number) => string) => `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
const ratio = (n: number) => n.toFixed(3);
const percent = (n: number) => `${(n * 100).toFixed(2)} %`;
const verdict = (pass: boolean): Target["result"] => pass ? "PASS" : "MISS";

/** Targets of case 1–2. */
function tcpTargets(tcp: TcpCase): Target[] {
  const ztna = tcp.runs.filter((r) => r.path === "ztna").map(tcpMetrics);
  const pipe = tcp.runs.filter((r) => r.path === "pipe").map(tcpMetrics);
  if (ztna.length === 0 || pipe.length === 0) return [];
  return tcpVerdicts(ztna, pipe).map((v) => ({
    case: "tcp",
    name: v.name,
    value: v.value.median,
    shown: range(v.value, ratio),
    goal: `${v.op} ${v.goal.toFixed(2)}`,
    result: verdict(v.pass),
  }));
}

/** Target of case 4. */
function relayTargets(relay: RelayCase): Target[] {
  const { relayMiBAt10k: mib, extrapolated } = relay.idle;
  const largest = Math.max(
    0,
    ...relay.idle.steps.filter((s) => s.server === "ztna" && s.shipped).map((s) => s.open),
  );
  const attempted = relay.idle.steps.some((s) =>
    s.server === "ztna" && s.shipped && s.step >= IDLE_TARGET_CONNECTIONS
  );
  const shown = `${Math.round(mib).toLocaleString("en-US")} MiB${
    extrapolated ? " (extrapolated)" : ""
  }`;
  const goal = `< ${RELAY_RSS_GOAL_MIB.toLocaleString("en-US")} MiB`;
  const name = "relay RSS with 10,000 idle authenticated clients (as shipped)";
  if (!extrapolated) {
    return [{
      case: "relay",
      name,
      value: mib,
      shown,
      goal,
      result: verdict(meets(mib, "<", RELAY_RSS_GOAL_MIB)),
    }];
  }
  return [{
    case: "relay",
    name,
    value: mib,
    shown,
    goal,
    // Extrapolation informs but does not pass; a failed attempt at 10,000 is a miss.
    result: attempted ? "MISS" : "n/a",
    note: `largest measured: ${largest.toLocaleString("en-US")} connections` +
      (attempted ? "; 10,000 were attempted and not reached" : "; 10,000 not attempted (--idle)"),
  }];
}

/** Targets of case 5. */
function udpTargets(udp: UdpCase): Target[] {
  const ztna = udp.summary.ztna;
  if (!ztna) return [];
  return [
    {
      case: "udp",
      name: "UDP: ztna ÷ direct QUIC datagram hop, max packets/s",
      value: udp.ratio.median,
      shown: range(udp.ratio, ratio),
      goal: `≥ ${UDP_RATE_GOAL.toFixed(2)}`,
      result: verdict(meets(udp.ratio.median, "≥", UDP_RATE_GOAL)),
    },
    {
      case: "udp",
      name: "UDP: ztna loss, paced at 50 % of its max",
      value: ztna.pacedLoss.median,
      shown: range(ztna.pacedLoss, percent),
      goal: `< ${percent(UDP_PACED_LOSS_GOAL)}`,
      result: verdict(meets(ztna.pacedLoss.median, "<", UDP_PACED_LOSS_GOAL)),
    },
  ];
}

/** Targets of case 6: each direction's throughput, paired sandbox ÷ no sandbox. */
function sandboxTargets(sandbox: SandboxCase): Target[] {
  return (["upload", "download"] as const).map((dir) => {
    const s = sandbox.ratios[`${dir}Mbps`];
    return {
      case: "sandbox",
      name: `Worker sandbox ÷ no sandbox, ${dir} throughput`,
      value: s.median,
      shown: range(s, ratio),
      goal: `≥ ${SANDBOX_THROUGHPUT_GOAL.toFixed(2)}`,
      result: verdict(meets(s.median, "≥", SANDBOX_THROUGHPUT_GOAL)),
    };
  });
}

/** Issue 15's bounds on recovery after a restart at once: first success within this, every run. */
export const RECOVERY_GOALS_MS: Readonly<Record<"onlyConnector" | "relay", number>> = {
  onlyConnector: 3_000,
  relay: 5_000,
};

/**
 * Targets of case 8 (issue 15): with a pool of two, no new connection started 1 s or more after
 * the kill fails, in any run; after a restart at once, the first new connection succeeds within the
 * bound in every run (timed from the kill, which the restart follows at once: stricter).
 */
function recoveryTargets(rec: RecoveryCase): Target[] {
  const runs = (s: RecoveryScenarioId) => rec.runs.filter((r) => r.scenario === s);
  const pool = (["poolMember", "poolMemberStopped"] as const).filter((s) => runs(s).length > 0)
    .map((s): Target => {
      const late = runs(s).filter((r) => (r.lastFailureMs ?? -1) >= 1_000).length;
      return {
        case: "recovery",
        name: `recovery: runs with a failed new connection from +1 s on (${
          s === "poolMember" ? "one of two connectors killed" : "one of two stopped"
        })`,
        value: late,
        shown: `${late} of ${runs(s).length}`,
        goal: "≤ 0",
        result: verdict(meets(late, "≤", 0)),
      };
    });
  const restarts = (["onlyConnector", "relay"] as const).filter((s) => runs(s).length > 0)
    .map((s): Target => {
      const worst = Math.max(...runs(s).map((r) => r.firstSuccessMs));
      return {
        case: "recovery",
        name: `recovery: slowest first success after kill -9 and restart of ${
          s === "relay" ? "the relay" : "the only connector"
        }, ms`,
        value: worst,
        shown: Math.round(worst).toLocaleString("en-US"),
        goal: `< ${RECOVERY_GOALS_MS[s].toLocaleString("en-US")}`,
        result: verdict(meets(worst, "<", RECOVERY_GOALS_MS[s])),
      };
    });
  return [...pool, ...restarts];
}

/** Issue 17's targets for the TCP transport, judged on case 12's paired ratios. */
export const TRANSPORT_TARGETS: ReadonlyArray<{
  baseline: "quic" | "sshJ";
  metric: TcpMetric;
  op: TargetOp;
  goal: number;
  name: string;
}> = [
  { baseline: "quic", metric: "uploadMbps", op: "≥", goal: 1.3, name: "1-flow upload" },
  { baseline: "quic", metric: "downloadMbps", op: "≥", goal: 1.3, name: "1-flow download" },
  { baseline: "quic", metric: "p50Us", op: "≤", goal: 0.8, name: "p50 round trip" },
  { baseline: "sshJ", metric: "uploadMbps", op: ">", goal: 1, name: "1-flow upload" },
  { baseline: "sshJ", metric: "downloadMbps", op: ">", goal: 1, name: "1-flow download" },
  { baseline: "sshJ", metric: "parallelUploadMbps", op: ">", goal: 1, name: "16-flow upload" },
  { baseline: "sshJ", metric: "parallelDownloadMbps", op: ">", goal: 1, name: "16-flow download" },
];

/** Targets of case 12: ztna over TCP ÷ ztna over QUIC and ÷ `ssh -J`, same run. */
function transportTargets(t: TransportCase): Target[] {
  const label = { quic: "ztna over QUIC", sshJ: "ssh -J" } as const;
  return TRANSPORT_TARGETS.flatMap((g) => {
    const row = t.ratios.find((r) => r.baseline === g.baseline);
    if (!row) return [];
    const s = row[g.metric];
    return [{
      case: "transport",
      name: `TCP transport ÷ ${label[g.baseline]}, ${g.name.replace("16-flow", `${t.flows}-flow`)}`,
      value: s.median,
      shown: range(s, ratio),
      goal: `${g.op} ${g.goal.toFixed(2)}`,
      result: verdict(meets(s.median, g.op, g.goal)),
    }];
  });
}

/** Every target of the cases that ran, in case order. */
export function judgeTargets(
  results: {
    tcp?: TcpCase;
    relay?: RelayCase;
    udp?: UdpCase;
    sandbox?: SandboxCase;
    recovery?: RecoveryCase;
    transport?: TransportCase;
  },
): Target[] {
  return [
    ...(results.tcp ? tcpTargets(results.tcp) : []),
    ...(results.relay ? relayTargets(results.relay) : []),
    ...(results.udp ? udpTargets(results.udp) : []),
    ...(results.sandbox ? sandboxTargets(results.sandbox) : []),
    ...(results.recovery ? recoveryTargets(results.recovery) : []),
    ...(results.transport ? transportTargets(results.transport) : []),
  ];
}
