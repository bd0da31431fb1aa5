/**
 * Command-line options of `deno task bench`, parsed and checked once.
 * @module
 */
import { parseArgs } from "node:util";

/** What one bench run does. */
export interface BenchOptions {
  /** Repetitions of every measurement on every path. @default {3} */
  reps: number;
  /** MiB per bulk transfer (each direction, each repetition). @default {256} */
  mib: number;
  /** Timed round trips per repetition. @default {5000} */
  rtts: number;
  /** Untimed round trips before them. @default {200} */
  warmup: number;
  /** Folder for `<date>.json` and `latest.md`. @default {"bench/results"} */
  outDir: string;
  /** Deadline of the whole run in minutes; it stops cleanly when reached. @default {20} */
  maxMinutes: number;
  /** True when `--quick` chose the defaults. */
  quick: boolean;
}

/** Defaults of a full run: about 2 minutes on the 2-core machine of DESIGN.md, far under 10. */
const FULL = { reps: 3, mib: 256, rtts: 5_000 } as const;
/** `--quick`: a smoke run of well under a minute, too short for numbers worth keeping. */
const QUICK = { reps: 1, mib: 32, rtts: 1_000 } as const;

/** Help text for `--help`. */
export const USAGE = `Usage: deno task bench [-- options]

  --reps N         repetitions per measurement (default ${FULL.reps}; --quick ${QUICK.reps})
  --mib N          MiB per bulk transfer (default ${FULL.mib}; --quick ${QUICK.mib})
  --rtts N         timed 64-byte round trips (default ${FULL.rtts}; --quick ${QUICK.rtts})
  --warmup N       untimed round trips first (default 200)
  --quick          small smoke run
  --out DIR        results folder (default bench/results)
  --max-minutes N  stop the run after N minutes (default 20)
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

/**
 * Parses `args` (Deno.args).
 * @throws {RangeError} for a value that is not a positive integer
 * @throws {TypeError} for an unknown option
 */
export function parseBenchArgs(args: string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    // `deno task bench -- --quick` passes the "--" through; it separates nothing here.
    args: args[0] === "--" ? args.slice(1) : args,
    options: {
      reps: { type: "string" },
      mib: { type: "string" },
      rtts: { type: "string" },
      warmup: { type: "string" },
      out: { type: "string" },
      "max-minutes": { type: "string" },
      quick: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return "help";
  const base = values.quick ? QUICK : FULL;
  return {
    reps: positiveInt(values.reps, "reps", base.reps),
    mib: positiveInt(values.mib, "mib", base.mib),
    rtts: positiveInt(values.rtts, "rtts", base.rtts),
    warmup: positiveInt(values.warmup, "warmup", 200),
    outDir: values.out ?? "bench/results",
    maxMinutes: positiveInt(values["max-minutes"], "max-minutes", 20),
    quick: values.quick ?? false,
  };
}
