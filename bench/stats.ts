/**
 * Statistics of a bench run: percentiles of round-trip samples, the median and spread of the
 * repetitions, and the ztna ÷ pipe ratios with their targets. Pure: no I/O.
 * @module
 */

/** Paths measured, in table order. */
export const PATHS = [
  { id: "direct", label: "direct TCP" },
  { id: "pipe", label: "two-hop QUIC pipe" },
  { id: "ztna", label: "ztna client→relay→connector" },
] as const;

/** Id of a measured path. */
export type PathId = (typeof PATHS)[number]["id"];

/** Metrics reported per path, each per repetition. */
export type Metric = "uploadMbps" | "downloadMbps" | "p50Us" | "p99Us";

/** One repetition of one path: one value per metric. */
export type RepMetrics = Record<Metric, number>;

/** Median of the repetitions and their range. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** A ratio against its target. */
export interface RatioResult {
  /** What is divided, e.g. "ztna ÷ pipe upload". */
  name: string;
  metric: Metric;
  /** Median of the per-repetition ratios (ztna and pipe of the same repetition), and their range. */
  value: Spread;
  target: { op: "≥" | "≤"; value: number };
  pass: boolean;
}

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

/** Targets of ztna against the two-hop pipe (DESIGN.md): throughput kept, latency added. */
export const TARGETS: ReadonlyArray<
  { name: string; metric: Metric; op: "≥" | "≤"; value: number }
> = [
  { name: "ztna ÷ pipe, upload throughput", metric: "uploadMbps", op: "≥", value: 0.7 },
  { name: "ztna ÷ pipe, download throughput", metric: "downloadMbps", op: "≥", value: 0.7 },
  { name: "ztna ÷ pipe, p50 round trip", metric: "p50Us", op: "≤", value: 1.5 },
];

/**
 * `a ÷ b` of one metric, paired per repetition (both measured seconds apart, so machine noise
 * mostly cancels), summarized as median and range.
 * @throws {RangeError} when the two paths have different numbers of repetitions
 */
export function pairedRatio(
  a: readonly RepMetrics[],
  b: readonly RepMetrics[],
  metric: Metric,
): Spread {
  if (a.length !== b.length || a.length === 0) {
    throw new RangeError(
      `Cannot pair repetitions as one path has ${a.length} and the other ${b.length}`,
    );
  }
  return spread(a.map((x, i) => x[metric] / b[i][metric]));
}

/**
 * ztna ÷ pipe for each of {@link TARGETS}, paired per repetition.
 * @throws {RangeError} when the two paths have different numbers of repetitions
 */
export function ratios(ztna: readonly RepMetrics[], pipe: readonly RepMetrics[]): RatioResult[] {
  return TARGETS.map((t) => {
    const value = pairedRatio(ztna, pipe, t.metric);
    const pass = t.op === "≥" ? value.median >= t.value : value.median <= t.value;
    return { name: t.name, metric: t.metric, value, target: { op: t.op, value: t.value }, pass };
  });
}
