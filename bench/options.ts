/**
 * Command-line options of `deno task bench`, parsed and checked once.
 * @module
 */
import { parseArgs } from "node:util";
import { CaseId } from "./results_schema.ts";

/** What one bench run does. */
export interface BenchOptions {
  /** Cases to run, in order. @default {every case; `--smoke`: all but {@link NOT_IN_SMOKE}} */
  only: CaseId[];
  /** Repetitions of every measurement on every path. @default {3} */
  reps: number;
  /** MiB per bulk transfer (each direction, each repetition; the parallel flows share it). @default {128} */
  mib: number;
  /** Timed round trips per repetition. @default {5000} */
  rtts: number;
  /** Untimed round trips before them. @default {200} */
  warmup: number;
  /** Parallel flows of the aggregate throughput measurement. @default {16} */
  flows: number;
  /** Fresh client processes per path for time to first byte (cases 3 and 7). @default {10} */
  ttfb: number;
  /** Seconds of each handshake-rate run. @default {5} */
  handshakeSeconds: number;
  /** Idle connection counts at which the relay's memory is read. @default {[1000, 5000, 10000]} */
  idle: number[];
  /** Datagrams of each maximum-rate UDP burst. @default {30000} */
  udpPackets: number;
  /** Seconds of each paced UDP series. @default {2} */
  udpSeconds: number;
  /** Milliseconds of each step of the UDP rate ramp. @default {250} */
  udpRampMs: number;
  /** May missing Debian packages (sshd, ssh, stunnel) be installed with apt-get? @default {true} */
  install: boolean;
  /** Runs of each kill -9 scenario of case 8. @default {5} */
  recoveryRuns: number;
  /** Idle client counts of the keep-alive cost (case 9). @default {[1000, 3000, 10000]} */
  keepaliveIdle: number[];
  /** Seconds of each pgbench and wrk run (case 10). @default {5} */
  appSeconds: number;
  /** Run the ztna relays with `--cpu-prof`, writing profiles under `<outDir>/profiles/`. */
  cpuProf: boolean;
  /** Folder for `<date>.json` and `latest.md`. @default {"bench/results"} */
  outDir: string;
  /** Deadline of the whole run in minutes; it stops cleanly when reached. @default {20} */
  maxMinutes: number;
  /** Which size preset chose the defaults. */
  preset: "full" | "quick" | "smoke";
}

type Sizes = Pick<
  BenchOptions,
  | "reps"
  | "mib"
  | "rtts"
  | "warmup"
  | "flows"
  | "ttfb"
  | "handshakeSeconds"
  | "idle"
  | "udpPackets"
  | "udpSeconds"
  | "udpRampMs"
  | "recoveryRuns"
  | "keepaliveIdle"
  | "appSeconds"
  | "maxMinutes"
>;

/** Defaults of a full run: 8–12 minutes on the 2-core machine of DESIGN.md, by its load. */
const FULL: Sizes = {
  reps: 3,
  mib: 128,
  rtts: 5_000,
  warmup: 200,
  flows: 16,
  ttfb: 10,
  handshakeSeconds: 5,
  idle: [1_000, 5_000, 10_000],
  udpPackets: 30_000,
  udpSeconds: 2,
  udpRampMs: 250,
  recoveryRuns: 5,
  keepaliveIdle: [1_000, 3_000, 10_000],
  appSeconds: 5,
  maxMinutes: 30,
};
/** `--quick`: every case once, small; about 2 minutes, too short for numbers worth keeping. */
const QUICK: Sizes = {
  reps: 1,
  mib: 32,
  rtts: 1_000,
  warmup: 200,
  flows: 16,
  ttfb: 3,
  handshakeSeconds: 2,
  idle: [1_000],
  udpPackets: 10_000,
  udpSeconds: 1,
  udpRampMs: 150,
  recoveryRuns: 2,
  keepaliveIdle: [1_000],
  appSeconds: 3,
  maxMinutes: 15,
};
/** `--smoke`: tiny sizes for CI (bench/smoke_test.ts); proves every case yields a number. */
const SMOKE: Sizes = {
  reps: 1,
  mib: 2,
  rtts: 100,
  warmup: 20,
  flows: 16,
  ttfb: 1,
  handshakeSeconds: 1,
  idle: [50],
  udpPackets: 1_000,
  udpSeconds: 1,
  udpRampMs: 50,
  recoveryRuns: 1,
  keepaliveIdle: [50],
  appSeconds: 1,
  maxMinutes: 2,
};

/** Help text for `--help`. */
export const USAGE = `Usage: deno task bench [-- options]

  --only LIST          cases to run, comma-separated: tcp, ttfb, relay, udp, sandbox, direct,
                       recovery, keepalive, apps, fleet, transport (default all; --smoke: the
                       first six)
  --reps N             repetitions per measurement (default ${FULL.reps})
  --mib N              MiB per bulk transfer (default ${FULL.mib})
  --rtts N             timed 64-byte round trips (default ${FULL.rtts})
  --warmup N           untimed round trips first (default ${FULL.warmup})
  --flows N            parallel flows of the aggregate throughput (default ${FULL.flows})
  --ttfb N             fresh client processes per path for time to first byte, cases ttfb and
                       direct (default ${FULL.ttfb})
  --handshake-seconds N  seconds of each handshake-rate run (default ${FULL.handshakeSeconds})
  --idle LIST          idle connection counts for relay memory (default ${FULL.idle.join(",")})
  --udp-packets N      datagrams per maximum-rate UDP burst (default ${FULL.udpPackets})
  --udp-seconds N      seconds of each paced UDP series (default ${FULL.udpSeconds})
  --udp-ramp-ms N      milliseconds of each step of the UDP rate ramp (default ${FULL.udpRampMs})
  --recovery-runs N    runs of each kill -9 scenario, case recovery (default ${FULL.recoveryRuns})
  --keepalive-idle LIST  idle clients for the keep-alive cost (default ${
  FULL.keepaliveIdle.join(",")
})
  --app-seconds N      seconds of each pgbench and wrk run, case apps (default ${FULL.appSeconds})
  --no-install         never apt-get install sshd/ssh/stunnel; skip their baselines if missing
  --cpu-prof           run the ztna relays with --cpu-prof (profiles under <out>/profiles/)
  --quick              every case once with small sizes (about 2 minutes)
  --smoke              tiny sizes for CI, no package installs (well under a minute)
  --out DIR            results folder (default bench/results)
  --max-minutes N      stop the run after N minutes (default ${FULL.maxMinutes})
`;

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(
      `Cannot run the bench as '--${name}' must be a positive integer: current value is ${value}`,
    );
  }
  return n;
}

function intList(value: string | undefined, name: string, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  const list = value.split(",").map((v) => positiveInt(v.trim(), name, 0));
  return [...new Set(list)].sort((a, b) => a - b);
}

/**
 * Cases a `--smoke` run leaves out unless named: they wait for real timers (recovery: idle timeouts
 * after kill -9; keepalive: steady state at thousands of clients) or need PostgreSQL, pgbench and
 * wrk (apps), so they take minutes, not seconds; tests/e2e/crash_recovery_test.ts checks recovery.
 * transport (case 12) starts its own relay, two ztna pairs and two idle-peer relays: 1–2 minutes
 * even at smoke sizes; bench/cases/tcp_transport_test.ts checks its summary and targets.
 */
export const NOT_IN_SMOKE: readonly CaseId[] = [
  "recovery",
  "keepalive",
  "apps",
  "fleet",
  "transport",
];

function cases(value: string | undefined, preset: BenchOptions["preset"]): CaseId[] {
  if (value === undefined) {
    return CaseId.options.filter((c) => preset !== "smoke" || !NOT_IN_SMOKE.includes(c));
  }
  const chosen = value.split(",").map((v) => v.trim());
  for (const c of chosen) {
    if (!CaseId.safeParse(c).success) {
      throw new RangeError(
        `Cannot run the bench as '--only' must list cases among ${
          CaseId.options.join(", ")
        }: current value is ${value}`,
      );
    }
  }
  return CaseId.options.filter((c) => chosen.includes(c));
}

/**
 * Parses `args` (Deno.args).
 * @throws {RangeError} for a bad value
 * @throws {TypeError} for an unknown option
 */
export function parseBenchArgs(args: string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    // `deno task bench -- --quick` passes the "--" through; it separates nothing here.
    args: args[0] === "--" ? args.slice(1) : args,
    options: {
      only: { type: "string" },
      reps: { type: "string" },
      mib: { type: "string" },
      rtts: { type: "string" },
      warmup: { type: "string" },
      flows: { type: "string" },
      ttfb: { type: "string" },
      "handshake-seconds": { type: "string" },
      idle: { type: "string" },
      "udp-packets": { type: "string" },
      "udp-seconds": { type: "string" },
      "udp-ramp-ms": { type: "string" },
      "recovery-runs": { type: "string" },
      "keepalive-idle": { type: "string" },
      "app-seconds": { type: "string" },
      "no-install": { type: "boolean" },
      "cpu-prof": { type: "boolean" },
      out: { type: "string" },
      "max-minutes": { type: "string" },
      quick: { type: "boolean" },
      smoke: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return "help";
  if (values.quick && values.smoke) {
    throw new RangeError("Cannot run the bench as '--quick' and '--smoke' exclude each other");
  }
  const preset = values.smoke ? "smoke" : values.quick ? "quick" : "full";
  const base = { full: FULL, quick: QUICK, smoke: SMOKE }[preset];
  return {
    only: cases(values.only, preset),
    reps: positiveInt(values.reps, "reps", base.reps),
    mib: positiveInt(values.mib, "mib", base.mib),
    rtts: positiveInt(values.rtts, "rtts", base.rtts),
    warmup: positiveInt(values.warmup, "warmup", base.warmup),
    flows: positiveInt(values.flows, "flows", base.flows),
    ttfb: positiveInt(values.ttfb, "ttfb", base.ttfb),
    handshakeSeconds: positiveInt(
      values["handshake-seconds"],
      "handshake-seconds",
      base.handshakeSeconds,
    ),
    idle: intList(values.idle, "idle", base.idle),
    udpPackets: positiveInt(values["udp-packets"], "udp-packets", base.udpPackets),
    udpSeconds: positiveInt(values["udp-seconds"], "udp-seconds", base.udpSeconds),
    udpRampMs: positiveInt(values["udp-ramp-ms"], "udp-ramp-ms", base.udpRampMs),
    recoveryRuns: positiveInt(values["recovery-runs"], "recovery-runs", base.recoveryRuns),
    keepaliveIdle: intList(values["keepalive-idle"], "keepalive-idle", base.keepaliveIdle),
    appSeconds: positiveInt(values["app-seconds"], "app-seconds", base.appSeconds),
    install: !values["no-install"] && preset !== "smoke",
    cpuProf: values["cpu-prof"] ?? false,
    outDir: values.out ?? "bench/results",
    maxMinutes: positiveInt(values["max-minutes"], "max-minutes", base.maxMinutes),
    preset,
  };
}
