/**
 * `deno task bench`: measures, in one run on loopback, single-flow bulk throughput (upload and
 * download) and 64-byte request/response latency through three paths: direct TCP to the backend,
 * a minimal two-hop Deno QUIC pipe (baselines/quic_pipe.ts), and ztna client → relay → connector.
 *
 * All paths stay up for the whole run and every repetition measures each of them in turn (the order
 * rotates per repetition), so machine noise hits them alike; the ztna ÷ pipe ratios pair the same
 * repetition. Writes `bench/results/<YYYY-MM-DD>.json` (raw samples, machine) and
 * `bench/results/latest.md`, and prints the markdown table. How to read it: docs/BENCHMARKS.md.
 * @module
 */
import { download, roundTrips, type ThroughputSample, upload } from "./load.ts";
import { collectMachineInfo } from "./machine_info.ts";
import { type BenchOptions, parseBenchArgs, USAGE } from "./options.ts";
import { startPaths } from "./paths.ts";
import { renderReport } from "./report.ts";
import { type PathId, PATHS, percentile, ratios, type RepMetrics, spread } from "./stats.ts";

const MIB = 1024 * 1024;

/** Untimed pass on every path before the first repetition: JIT, QUIC windows, first-flow costs. */
const WARMUP_PASS = { mib: 16, roundTrips: 500 } as const;

/** One repetition of one path, as stored in the JSON file. */
interface RepRecord {
  path: PathId;
  /** 1-based repetition number. */
  rep: number;
  /** Position of the path within its repetition (the order rotates). */
  position: number;
  upload: ThroughputSample;
  download: ThroughputSample;
  roundTrips: {
    warmup: number;
    p50Us: number;
    p99Us: number;
    minUs: number;
    maxUs: number;
    /** Every timed round trip in microseconds, rounded to 0.1 µs. */
    samplesUs: number[];
  };
}

function log(line: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** Deadline of one bulk transfer: generous (5 MB/s plus start-up), still bounded. */
function transferTimeoutMs(bytes: number): number {
  return 20_000 + (bytes / 5e6) * 1_000;
}

/** Deadline of one round-trip series: 5 ms per round trip plus start-up. */
function roundTripTimeoutMs(count: number): number {
  return 20_000 + count * 5;
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Puts arrays of numbers on one line: 45,000 samples should not be 45,000 lines. */
function compactNumberArrays(json: string): string {
  return json.replace(
    /\[\s*-?\d[\d.eE+-]*(?:,\s*-?\d[\d.eE+-]*)*\s*\]/g,
    (m) => m.replace(/\s+/g, ""),
  );
}

function toMetrics(r: RepRecord): RepMetrics {
  return {
    uploadMbps: r.upload.mbps,
    downloadMbps: r.download.mbps,
    p50Us: r.roundTrips.p50Us,
    p99Us: r.roundTrips.p99Us,
  };
}

/** One line of progress for a repetition. */
function describe(r: RepRecord): string {
  const { upload: up, download: down, roundTrips: rt } = r;
  return `up ${up.mbps.toFixed(0)} Mbit/s, down ${down.mbps.toFixed(0)} Mbit/s, ` +
    `p50 ${rt.p50Us.toFixed(0)} µs, p99 ${rt.p99Us.toFixed(0)} µs`;
}

/** One repetition on one path: upload, download, then the round trips. */
async function measurePath(
  port: number,
  ctx: { options: BenchOptions; signal: AbortSignal },
): Promise<Pick<RepRecord, "upload" | "download" | "roundTrips">> {
  const { options, signal } = ctx;
  const bytes = options.mib * MIB;
  const up = await upload(port, bytes, { signal, timeoutMs: transferTimeoutMs(bytes) });
  const down = await download(port, bytes, { signal, timeoutMs: transferTimeoutMs(bytes) });
  const rtts = await roundTrips(port, {
    signal,
    count: options.rtts,
    warmup: options.warmup,
    timeoutMs: roundTripTimeoutMs(options.rtts + options.warmup),
  });
  return {
    upload: up,
    download: down,
    roundTrips: {
      warmup: options.warmup,
      p50Us: percentile(rtts, 50),
      p99Us: percentile(rtts, 99),
      minUs: percentile(rtts, 0),
      maxUs: percentile(rtts, 100),
      samplesUs: Array.from(rtts, (us) => Math.round(us * 10) / 10),
    },
  };
}

/** Starts the paths, measures, stops them, then writes and prints the results. */
async function measure(options: BenchOptions, signal: AbortSignal): Promise<void> {
  const startedAt = new Date();
  const machine = collectMachineInfo();
  log(
    `${machine.cores} cores, ${machine.cpuModel}, Deno ${machine.deno}; ${options.reps} reps, ` +
      `${options.mib} MiB, ${options.rtts} round trips`,
  );
  const bytes = options.mib * MIB;
  const records: RepRecord[] = [];
  let measuredMs = 0;
  {
    await using paths = await startPaths(log);
    log("warm-up pass (not recorded)");
    for (const p of PATHS) {
      const port = paths.ports[p.id];
      const warmBytes = Math.min(bytes, WARMUP_PASS.mib * MIB);
      await upload(port, warmBytes, { signal, timeoutMs: transferTimeoutMs(warmBytes) });
      await download(port, warmBytes, { signal, timeoutMs: transferTimeoutMs(warmBytes) });
      await roundTrips(port, {
        signal,
        count: WARMUP_PASS.roundTrips,
        warmup: 0,
        timeoutMs: roundTripTimeoutMs(WARMUP_PASS.roundTrips),
      });
    }
    const t0 = performance.now();
    for (let rep = 1; rep <= options.reps; rep++) {
      for (const [position, p] of rotate(PATHS, rep - 1).entries()) {
        const record: RepRecord = {
          path: p.id,
          rep,
          position,
          ...await measurePath(paths.ports[p.id], { options, signal }),
        };
        records.push(record);
        log(`rep ${rep}/${options.reps} ${p.label}: ${describe(record)}`);
      }
    }
    measuredMs = performance.now() - t0;
    log("stopping every process");
  }

  const of = (id: PathId) => records.filter((r) => r.path === id).map(toMetrics);
  const metrics: Record<PathId, RepMetrics[]> = {
    direct: of("direct"),
    pipe: of("pipe"),
    ztna: of("ztna"),
  };
  const date = startedAt.toISOString().slice(0, 10);
  const markdown = renderReport({ date, machine, options, metrics, durationS: measuredMs / 1_000 });
  const summary = Object.fromEntries(
    PATHS.map((p) => [p.id, {
      uploadMbps: spread(metrics[p.id].map((m) => m.uploadMbps)),
      downloadMbps: spread(metrics[p.id].map((m) => m.downloadMbps)),
      p50Us: spread(metrics[p.id].map((m) => m.p50Us)),
      p99Us: spread(metrics[p.id].map((m) => m.p99Us)),
    }]),
  );
  const result = {
    schema: 1,
    date,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    measuredSeconds: measuredMs / 1_000,
    machine: { ...machine, loadavgAtEnd: Deno.loadavg() },
    options: {
      reps: options.reps,
      mib: options.mib,
      rtts: options.rtts,
      warmup: options.warmup,
      quick: options.quick,
    },
    paths: PATHS,
    summary,
    ratios: ratios(metrics.ztna, metrics.pipe),
    runs: records,
    markdown,
  };
  await Deno.mkdir(options.outDir, { recursive: true });
  const jsonPath = `${options.outDir}/${date}.json`;
  await Deno.writeTextFile(jsonPath, compactNumberArrays(JSON.stringify(result, null, 1)) + "\n");
  await Deno.writeTextFile(`${options.outDir}/latest.md`, markdown);
  log(`wrote ${jsonPath} and ${options.outDir}/latest.md`);
  console.log(markdown);
}

/** Runs the bench; resolves with the exit code. Never leaves a process behind. */
async function main(args: string[]): Promise<number> {
  let options: BenchOptions | "help";
  try {
    options = parseBenchArgs(args);
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : e}\n\n${USAGE}`);
    return 2;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort(new Error("interrupted"));
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  const signal = AbortSignal.any([
    interrupted.signal,
    AbortSignal.timeout(options.maxMinutes * 60_000),
  ]);
  try {
    await measure(options, signal);
    return 0;
  } catch (e) {
    const why = signal.aborted
      ? ` (${signal.reason instanceof Error ? signal.reason.message : signal.reason})`
      : "";
    console.error(`Bench failed${why}: ${e instanceof Error ? e.message : e}`);
    return 1;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
