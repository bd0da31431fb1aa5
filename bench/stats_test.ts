/**
 * Tests of the bench statistics: percentiles, spreads, paired ratios and verdicts.
 * @module
 */
import assert from "node:assert/strict";
import {
  meets,
  pairedRatio,
  pairedRatios,
  percentile,
  spread,
  spreadOf,
  type TcpMetrics,
  tcpVerdicts,
} from "./stats.ts";

function rep(uploadMbps: number, downloadMbps: number, p50Us: number): TcpMetrics {
  return {
    uploadMbps,
    downloadMbps,
    parallelUploadMbps: uploadMbps,
    parallelDownloadMbps: downloadMbps,
    p50Us,
    p99Us: p50Us * 4,
  };
}

Deno.test("percentile() uses the nearest rank of the sorted samples", () => {
  const samples = Float64Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted
  assert.equal(percentile(samples, 50), 50);
  assert.equal(percentile(samples, 99), 99);
  assert.equal(percentile(samples, 0), 1);
  assert.equal(percentile(samples, 100), 100);
  assert.equal(percentile([7], 99), 7);
});

Deno.test("percentile() rejects no samples and p outside 0–100", () => {
  assert.throws(() => percentile([], 50), RangeError);
  assert.throws(() => percentile([1], 101), RangeError);
  assert.throws(() => percentile([1], Number.NaN), RangeError);
});

Deno.test("spread() gives the median, the mean of the middle two for an even count, and the range", () => {
  assert.deepEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3 });
  assert.deepEqual(spread([4, 1, 2, 3]), { median: 2.5, min: 1, max: 4 });
  assert.throws(() => spread([]), RangeError);
});

Deno.test("pairedRatio() divides the same repetition of two paths", () => {
  const a = [rep(80, 0, 0), rep(60, 0, 0), rep(90, 0, 0)];
  const b = [rep(100, 0, 0), rep(100, 0, 0), rep(100, 0, 0)];
  assert.deepEqual(pairedRatio(a, b, "uploadMbps"), { median: 0.8, min: 0.6, max: 0.9 });
  assert.throws(() => pairedRatio(a, b.slice(1), "uploadMbps"), RangeError);
  assert.throws(() => pairedRatio([], [], "uploadMbps"), RangeError);
});

Deno.test("meets() applies ≥, ≤ and strict <", () => {
  assert.equal(meets(0.7, "≥", 0.7), true);
  assert.equal(meets(1.5, "≤", 1.5), true);
  assert.equal(meets(0.01, "<", 0.01), false);
  assert.equal(meets(0.009, "<", 0.01), true);
});

Deno.test("tcpVerdicts() passes throughput at 0.70 and p50 at 1.5, and misses beyond", () => {
  const pipe = [rep(1000, 1000, 300)];
  const atTargets = tcpVerdicts([rep(700, 700, 450)], pipe);
  assert.deepEqual(atTargets.map((r) => r.pass), [true, true, true]);
  const missed = tcpVerdicts([rep(690, 1000, 451)], pipe);
  assert.deepEqual(missed.map((r) => [r.metric, r.pass]), [
    ["uploadMbps", false],
    ["downloadMbps", true],
    ["p50Us", false],
  ]);
});

Deno.test("spreadOf() and pairedRatios() summarize each named metric", () => {
  const a = [{ up: 2, p50: 10 }, { up: 4, p50: 30 }, { up: 6, p50: 20 }];
  const b = [{ up: 1, p50: 10 }, { up: 2, p50: 10 }, { up: 2, p50: 10 }];
  assert.deepEqual(spreadOf(a, ["up"]), { up: { median: 4, min: 2, max: 6 } });
  assert.deepEqual(pairedRatios(a, b, ["up", "p50"]), {
    up: { median: 2, min: 2, max: 3 },
    p50: { median: 2, min: 1, max: 3 },
  });
  assert.throws(() => pairedRatios(a, b.slice(1), ["up"]), RangeError);
});
