/**
 * Statistics of a bench run: percentiles of samples, the median and spread of repetitions, ratios
 * paired per repetition, and verdicts against targets. Pure: no I/O.
 * @module
 */

/** Median of the repetitions and their range. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Comparison of a target. */
export type TargetOp = "≥" | "≤" | "<" | ">";

/**
 * Nearest-rank percentile (`p` in 0–100) of `samples`.
 * @throws {RangeError} when there are no samples or `p` is out of range
 */
export function percentile(samples: ArrayLike<number>, p: number): number {
  if (samples.length === 0) throw new RangeError("Cannot compute a percentile of no samples");
  if (!(p >= 0 && p <= 100)) {
    throw new RangeError(
      `Cannot compute a percentile as 'p' must be between 0 and 100: current value is ${p}`,
    );
  }
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/**
 * Median (mean of the middle two for an even count), minimum and maximum of `values`.
 * @throws {RangeError} when `values` is empty
 */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError("Cannot summarize no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/**
 * `a ÷ b` of one metric, paired per repetition (both measured seconds apart, so machine noise
 * mostly cancels), summarized as median and range.
 * @throws {RangeError} when the two have different numbers of repetitions, or none
 */
export function pairedRatio<M extends string>(
  a: ReadonlyArray<Readonly<Record<M, number>>>,
  b: ReadonlyArray<Readonly<Record<M, number>>>,
  metric: M,
): Spread {
  if (a.length !== b.length || a.length === 0) {
    throw new RangeError(
      `Cannot pair repetitions as one side has ${a.length} and the other ${b.length}`,
    );
  }
  return spread(a.map((x, i) => x[metric] / b[i][metric]));
}

/** {@link spread} of each of `metrics` over the repetitions `reps`. */
export function spreadOf<M extends string>(
  reps: ReadonlyArray<Readonly<Record<M, number>>>,
  metrics: readonly M[],
): Record<M, Spread> {
  return Object.fromEntries(metrics.map((m) => [m, spread(reps.map((r) => r[m]))])) as Record<
    M,
    Spread
  >;
}

/**
 * {@link pairedRatio} `a ÷ b` of each of `metrics`.
 * @throws {RangeError} when the two have different numbers of repetitions, or none
 */
export function pairedRatios<M extends string>(
  a: ReadonlyArray<Readonly<Record<M, number>>>,
  b: ReadonlyArray<Readonly<Record<M, number>>>,
  metrics: readonly M[],
): Record<M, Spread> {
  return Object.fromEntries(metrics.map((m) => [m, pairedRatio(a, b, m)])) as Record<M, Spread>;
}

/** True when `value` meets `goal` under `op`. */
export function meets(value: number, op: TargetOp, goal: number): boolean {
  switch (op) {
    case "≥":
      return value >= goal;
    case "≤":
      return value <= goal;
    case "<":
      return value < goal;
    case ">":
      return value > goal;
  }
}

/** Metrics of one repetition of one TCP path. */
export type TcpMetric =
  | "uploadMbps"
  | "downloadMbps"
  | "parallelUploadMbps"
  | "parallelDownloadMbps"
  | "p50Us"
  | "p99Us";

/** The single-flow metrics (cases 6 and 7): one upload, one download, round-trip p50 and p99. */
export const FLOW_METRICS = ["uploadMbps", "downloadMbps", "p50Us", "p99Us"] as const;
export type FlowMetric = typeof FLOW_METRICS[number];

/** One repetition of one TCP path: one value per metric. */
export type TcpMetrics = Record<TcpMetric, number>;

/** A TCP ratio against its target. */
export interface TcpTarget {
  name: string;
  metric: TcpMetric;
  op: TargetOp;
  goal: number;
}

/** Targets of ztna against the two-hop pipe (DESIGN.md): throughput kept, latency added. */
export const TCP_TARGETS: readonly TcpTarget[] = [
  { name: "ztna ÷ pipe, upload throughput", metric: "uploadMbps", op: "≥", goal: 0.7 },
  { name: "ztna ÷ pipe, download throughput", metric: "downloadMbps", op: "≥", goal: 0.7 },
  { name: "ztna ÷ pipe, p50 round trip", metric: "p50Us", op: "≤", goal: 1.5 },
];

/** A paired ratio with its verdict. */
export interface RatioVerdict {
  name: string;
  metric: TcpMetric;
  value: Spread;
  op: TargetOp;
  goal: number;
  pass: boolean;
}

/**
 * ztna ÷ pipe for each of {@link TCP_TARGETS}, paired per repetition; the median is judged.
 * @throws {RangeError} when the two paths have different numbers of repetitions
 */
export function tcpVerdicts(
  ztna: readonly TcpMetrics[],
  pipe: readonly TcpMetrics[],
): RatioVerdict[] {
  return TCP_TARGETS.map((t) => {
    const value = pairedRatio(ztna, pipe, t.metric);
    return { ...t, value, pass: meets(value.median, t.op, t.goal) };
  });
}
