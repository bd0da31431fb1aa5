/**
 * Cases 1 and 2: TCP through every path — single-flow bulk throughput both ways, the aggregate of
 * parallel flows both ways, and 64-byte request/response round trips (p50, p99).
 *
 * Paths: direct TCP (the machine's limit), the two-hop QUIC pipe (the least a Deno tunnel of our
 * shape costs), ztna, `ssh -L`, `ssh -J` and stunnel. Every repetition measures each path in turn,
 * the order rotating per repetition, so machine noise hits them alike; ratios pair the same
 * repetition.
 * @module
 */
import type { Lab } from "../lab.ts";
import { download, type LoadOptions, parallel, roundTrips, upload } from "../load.ts";
import type { BenchOptions } from "../options.ts";
import type { TcpCase, TcpPathId, TcpRep } from "../results_schema.ts";
import { pairedRatios, percentile, spreadOf, type TcpMetric, type TcpMetrics } from "../stats.ts";

/** TCP paths in table order. */
export const TCP_PATHS: ReadonlyArray<{ id: TcpPathId; label: string }> = [
  { id: "direct", label: "direct TCP" },
  { id: "pipe", label: "two-hop QUIC pipe" },
  { id: "ztna", label: "ztna client→relay→connector" },
  { id: "sshL", label: "ssh -L (one sshd)" },
  { id: "sshJ", label: "ssh -J (bastion → sshd)" },
  { id: "stunnel", label: "stunnel TLS (client → server)" },
];

/** Every metric, in column order. */
export const TCP_METRICS: readonly TcpMetric[] = [
  "uploadMbps",
  "downloadMbps",
  "parallelUploadMbps",
  "parallelDownloadMbps",
  "p50Us",
  "p99Us",
];

const MIB = 1024 * 1024;

/** Untimed pass on every path before the first repetition: JIT, QUIC windows, first-flow costs. */
const WARMUP_PASS = { mib: 16, roundTrips: 500 } as const;

/** Deadline of one bulk transfer: generous (5 MB/s plus start-up), still bounded. */
function transferTimeoutMs(bytes: number): number {
  return 20_000 + (bytes / 5e6) * 1_000;
}

/** Deadline of one round-trip series: 5 ms per round trip plus start-up. */
function roundTripTimeoutMs(count: number): number {
  return 20_000 + count * 5;
}

/** Signal and deadline of one bulk transfer of `bytes` (upload, download, parallel). */
export function transferIo(bytes: number, signal: AbortSignal): LoadOptions {
  return { signal, timeoutMs: transferTimeoutMs(bytes) };
}

/** `--rtts` timed 64-byte round trips after `--warmup` untimed ones on one connection. */
export async function timedRoundTrips(
  port: number,
  options: Pick<BenchOptions, "rtts" | "warmup">,
  signal: AbortSignal,
): Promise<TcpRep["roundTrips"]> {
  const rtts = await roundTrips(port, {
    signal,
    count: options.rtts,
    warmup: options.warmup,
    timeoutMs: roundTripTimeoutMs(options.rtts + options.warmup),
  });
  return {
    warmup: options.warmup,
    p50Us: percentile(rtts, 50),
    p99Us: percentile(rtts, 99),
    minUs: percentile(rtts, 0),
    maxUs: percentile(rtts, 100),
    samplesUs: Array.from(rtts, (us) => Math.max(0.1, Math.round(us * 10) / 10)),
  };
}

/**
 * The untimed pass on one path before the first repetition (JIT, QUIC windows, first-flow costs):
 * up to 16 MiB each way and up to 500 round trips. Resolves with the payload bytes it moved.
 */
export async function warmUp(
  port: number,
  options: Pick<BenchOptions, "mib" | "rtts">,
  signal: AbortSignal,
): Promise<number> {
  const warmBytes = Math.min(options.mib * MIB, WARMUP_PASS.mib * MIB);
  await upload(port, warmBytes, transferIo(warmBytes, signal));
  await download(port, warmBytes, transferIo(warmBytes, signal));
  const warmRtts = Math.min(WARMUP_PASS.roundTrips, options.rtts);
  await roundTrips(port, {
    signal,
    count: warmRtts,
    warmup: 0,
    timeoutMs: roundTripTimeoutMs(warmRtts),
  });
  return 2 * warmBytes + roundTripBytes(warmRtts);
}

/** Payload bytes of `count` 64-byte round trips, both ways. */
export function roundTripBytes(count: number): number {
  return count * 64 * 2;
}

/** One single-flow measurement of a path: upload, download, then the round trips. */
export async function singleFlow(
  port: number,
  options: Pick<BenchOptions, "mib" | "rtts" | "warmup">,
  signal: AbortSignal,
): Promise<Pick<TcpRep, "upload" | "download" | "roundTrips">> {
  const bytes = options.mib * MIB;
  const up = await upload(port, bytes, transferIo(bytes, signal));
  const down = await download(port, bytes, transferIo(bytes, signal));
  return { upload: up, download: down, roundTrips: await timedRoundTrips(port, options, signal) };
}

/** `items` rotated left by `by`. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** The metrics of one repetition (of cases 1–2, or of case 12). */
export function tcpMetrics(r: Omit<TcpRep, "path">): TcpMetrics {
  return {
    uploadMbps: r.upload.mbps,
    downloadMbps: r.download.mbps,
    parallelUploadMbps: r.parallelUpload.mbps,
    parallelDownloadMbps: r.parallelDownload.mbps,
    p50Us: r.roundTrips.p50Us,
    p99Us: r.roundTrips.p99Us,
  };
}

function describe(r: TcpRep): string {
  const f = (n: number) => n.toFixed(0);
  return `up ${f(r.upload.mbps)}, down ${f(r.download.mbps)}, ` +
    `${r.parallelUpload.flows}× up ${f(r.parallelUpload.mbps)}, ` +
    `${r.parallelDownload.flows}× down ${f(r.parallelDownload.mbps)} Mbit/s; ` +
    `p50 ${f(r.roundTrips.p50Us)} µs, p99 ${f(r.roundTrips.p99Us)} µs`;
}

/** The running TCP paths: the port a load generator connects to, per path (started at once). */
async function startTcpPaths(lab: Lab): Promise<Partial<Record<TcpPathId, number>>> {
  const direct = (await lab.backend()).tcpPort;
  // allSettled, not all: a failure must not leave other start-ups running while the lab stops.
  const started = await Promise.allSettled([
    lab.pipe(),
    lab.ztna().then((z) => z.tcpPort),
    lab.sshForward("direct"),
    lab.sshForward("jump"),
    lab.stunnel(),
  ]);
  const [pipe, ztna, sshL, sshJ, stunnel] = started.map((r) => {
    if (r.status === "rejected") throw r.reason;
    return r.value;
  });
  return { direct, pipe, ztna, sshL, sshJ, stunnel };
}

/** Runs cases 1 and 2 on every available path. */
export async function runTcpCase(
  lab: Lab,
  options: BenchOptions,
  ctx: { signal: AbortSignal; log: (line: string) => void },
): Promise<TcpCase> {
  const { signal, log } = ctx;
  const ports = await startTcpPaths(lab);
  const paths = TCP_PATHS.filter((p) => ports[p.id] !== undefined);
  const bytes = options.mib * MIB;
  const io = (n: number) => transferIo(n, signal);

  log("TCP: warm-up pass (not recorded)");
  for (const p of paths) await warmUp(ports[p.id] ?? 0, options, signal);

  const runs: TcpRep[] = [];
  for (let rep = 1; rep <= options.reps; rep++) {
    for (const [position, p] of rotate(paths, rep - 1).entries()) {
      const port = ports[p.id] ?? 0;
      const up = await upload(port, bytes, io(bytes));
      const down = await download(port, bytes, io(bytes));
      const parallelUp = await parallel("upload", port, bytes, {
        ...io(bytes),
        flows: options.flows,
      });
      const parallelDown = await parallel("download", port, bytes, {
        ...io(bytes),
        flows: options.flows,
      });
      const record: TcpRep = {
        path: p.id,
        rep,
        position,
        upload: up,
        download: down,
        parallelUpload: parallelUp,
        parallelDownload: parallelDown,
        roundTrips: await timedRoundTrips(port, options, signal),
      };
      runs.push(record);
      log(`TCP rep ${rep}/${options.reps} ${p.label}: ${describe(record)}`);
    }
  }
  return summarizeTcp(paths, options.flows, runs);
}

/** Summary and ratios of the recorded repetitions. */
export function summarizeTcp(
  paths: ReadonlyArray<{ id: TcpPathId; label: string }>,
  flows: number,
  runs: TcpRep[],
): TcpCase {
  const of = (id: TcpPathId) => runs.filter((r) => r.path === id).map(tcpMetrics);
  const summary: TcpCase["summary"] = {};
  for (const p of paths) summary[p.id] = spreadOf(of(p.id), TCP_METRICS);
  const ztna = of("ztna");
  const ratios: TcpCase["ratios"] = [];
  if (ztna.length > 0) {
    for (const p of paths.filter((p) => p.id !== "ztna")) {
      ratios.push({ baseline: p.id, ...pairedRatios(ztna, of(p.id), TCP_METRICS) });
    }
  }
  return { paths: [...paths], flows, runs, summary, ratios };
}
