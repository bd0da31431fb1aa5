/**
 * Case 4: relay capacity, against a bare Deno QUIC server (the datagram hop's server with the
 * relay's stream limit) measured the same way in the same run.
 *
 * - Handshakes per second: a load process (bench/relay_load.ts) keeps `concurrency` connections
 *   being opened, authenticated and closed for a few seconds; the count completed per second, and
 *   the server's CPU milliseconds per handshake.
 * - Idle connections: one load process opens connections up to each step (1,000 / 5,000 / 10,000)
 *   over one shared QUIC endpoint and holds them authenticated and idle; at each step the bench
 *   reads the server's RSS (/proc) and its CPU use while idle. Three servers: the relay as
 *   shipped (`deno task relay`'s memory settings, src/relay/memory_tuning.ts), the same relay
 *   without them (what they are worth), and the bare server with the shipped stream limit and the
 *   same settings.
 *
 * Each measurement gets fresh servers so memory readings start clean. The relays run with the
 * bench's raised limits (connection caps and handshake rates; see ztna_nodes.ts `UNLIMITED`): the
 * shipped defaults would refuse a single-source load long before capacity.
 * @module
 */
import { z } from "zod";
import type { Lab } from "../lab.ts";
import { SERVICES } from "../lab.ts";
import type { BenchOptions } from "../options.ts";
import { cpuMs, rssKiB, withCpu } from "../proc_stats.ts";
import type { HandshakeRun, IdleStep, RelayCase, ServerId } from "../results_schema.ts";
import { denoScript } from "../helper_process.ts";
import { pairedRatio, spread } from "../stats.ts";
import { knownLimits, shippedLimits, UNLIMITED } from "../ztna_nodes.ts";
import { rotate } from "./tcp.ts";

/** Connections being opened at once by the load process. */
const CONCURRENCY = 32;
/** Relay idle timeout of this case; the load keeps-alive every 20 s. */
const IDLE_TIMEOUT_MS = 60_000;
/** Pause after a step is reached, so the server finishes its work before memory is read. */
const SETTLE_MS = 1_000;
/** Window over which the server's CPU use while holding idle connections is measured. */
const IDLE_CPU_WINDOW_MS = 2_000;
/** Both, in a `--smoke` run: it proves the measurement works, not what it shows. */
const SMOKE_WINDOW_MS = 300;
/** Time the load process has to open one step (it stops itself at 120 s). */
const STEP_TIMEOUT_MS = 180_000;
/** The relay-memory target is stated at this many idle clients. */
export const IDLE_TARGET_CONNECTIONS = 10_000;

const LoadErrors = z.record(z.string(), z.number().int().nonnegative());
const HandshakesLine = z.object({
  completed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  seconds: z.number().positive(),
  errors: LoadErrors,
});
const HoldingLine = z.object({
  step: z.number().int().positive(),
  open: z.number().int().nonnegative(),
  closed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
  errors: LoadErrors,
});

const SERVER_LABEL: Record<ServerId, string> = { ztna: "ztna relay", bare: "bare QUIC server" };

/** Runs case 4. */
export async function runRelayCase(
  lab: Lab,
  options: BenchOptions,
  ctx: { signal: AbortSignal; log: (line: string) => void },
): Promise<RelayCase> {
  const { log } = ctx;
  const { fx } = lab;
  const tokenPath = (await fx.token("client", { services: [SERVICES.tcp] })).path;
  const limits = knownLimits(UNLIMITED);
  const maxStreams = shippedLimits().max_streams_per_connection ?? 100;
  const load = (server: ServerId, port: number, args: string[], stdin: "null" | "piped") =>
    denoScript(
      "bench/relay_load.ts",
      [
        `--target=${server}`,
        `--port=${port}`,
        `--ca=${fx.pki.caCertPath}`,
        `--token-file=${tokenPath}`,
        `--concurrency=${CONCURRENCY}`,
        ...args,
      ],
      {
        name: `relay load (${server})`,
        flags: ["--allow-net=127.0.0.1", `--allow-read=${fx.dir}`],
        stdin,
      },
    );
  const fresh = (
    server: ServerId,
    name: string,
    { streams = maxStreams, tuned = true }: { streams?: number; tuned?: boolean } = {},
  ) =>
    server === "ztna"
      ? lab.freshRelay(name, {
        idleTimeoutMs: IDLE_TIMEOUT_MS,
        limits: { ...limits, max_streams_per_connection: streams },
        tuned,
      })
      : lab.freshHop(name, streams);

  // Handshakes per second.
  const runs: HandshakeRun[] = [];
  {
    log("relay capacity: starting a relay and a bare QUIC server for handshakes");
    await using stack = new AsyncDisposableStack();
    const started = await Promise.allSettled([
      fresh("ztna", "handshakes"),
      fresh("bare", "handshakes"),
    ]);
    for (const r of started) if (r.status === "fulfilled") stack.use(r.value);
    const [relay, bare] = started.map((r) => {
      if (r.status === "rejected") throw r.reason;
      return r.value;
    });
    const servers = { ztna: relay, bare };
    for (let rep = 1; rep <= options.reps; rep++) {
      for (const server of rotate(["ztna", "bare"] as const, rep - 1)) {
        const target = servers[server];
        const { value: line, cpuMs: cpu } = await withCpu(
          { server: target.process.pid },
          async () => {
            await using p = load(server, target.port, [
              "--mode=handshakes",
              `--seconds=${options.handshakeSeconds}`,
            ], "null");
            const m = await p.waitFor(
              /Handshakes (\{.*\})/,
              options.handshakeSeconds * 1_000 + 60_000,
            );
            return HandshakesLine.parse(JSON.parse(m[1]));
          },
        );
        if (line.completed === 0) {
          throw new Error(
            `No handshake completed against the ${SERVER_LABEL[server]}: ${
              JSON.stringify(line.errors)
            }`,
          );
        }
        const run: HandshakeRun = {
          server,
          rep,
          completed: line.completed,
          failed: line.failed,
          seconds: line.seconds,
          perSecond: line.completed / line.seconds,
          serverCpuMsPerHandshake: (cpu.server ?? 0) / line.completed,
          errors: line.errors,
        };
        runs.push(run);
        log(
          `handshakes rep ${rep}/${options.reps} ${SERVER_LABEL[server]}: ` +
            `${run.perSecond.toFixed(0)}/s (${run.failed} failed), ` +
            `${run.serverCpuMsPerHandshake.toFixed(2)} ms server CPU each`,
        );
      }
    }
  }
  const rate = (s: ServerId) => runs.filter((r) => r.server === s);

  // Idle connections.
  const smoke = options.preset === "smoke";
  const settleMs = smoke ? SMOKE_WINDOW_MS : SETTLE_MS;
  const windowMs = smoke ? SMOKE_WINDOW_MS : IDLE_CPU_WINDOW_MS;
  const steps: IdleStep[] = [];
  // The relay as shipped (with `deno task relay`'s memory settings), the same relay without them
  // (what they are worth), and the bare server (tuned alike).
  const series = [
    { server: "ztna", streams: maxStreams, shipped: true, tuned: true },
    { server: "ztna", streams: maxStreams, shipped: false, tuned: false },
    { server: "bare", streams: maxStreams, shipped: false, tuned: true },
  ] as const;
  for (const { server, streams, shipped, tuned } of series) {
    const what = `${SERVER_LABEL[server]} (${streams} streams per connection${
      tuned ? "" : ", no memory tuning"
    })`;
    log(`relay capacity: idle connections to a fresh ${what}`);
    await using target = await fresh(server, `idle-${server}-${tuned ? "tuned" : "default"}`, {
      streams,
      tuned,
    });
    const pid = target.process.pid;
    await new Promise((r) => setTimeout(r, settleMs));
    const base = await rssKiB(pid);
    if (base === undefined) throw new Error(`The ${what} exited before any load`);
    await using p = load(server, target.port, [
      "--mode=idle",
      `--steps=${options.idle.join(",")}`,
      `--step-timeout-s=${STEP_TIMEOUT_MS / 1_000 - 60}`,
    ], "piped");
    for (const step of options.idle) {
      const m = await p.waitFor(new RegExp(`Holding (\\{"step":${step},.*\\})`), STEP_TIMEOUT_MS);
      const line = HoldingLine.parse(JSON.parse(m[1]));
      await new Promise((r) => setTimeout(r, settleMs));
      const cpuBefore = await cpuMs(pid);
      await new Promise((r) => setTimeout(r, windowMs));
      const cpuAfter = await cpuMs(pid);
      const rss = await rssKiB(pid);
      const loadRss = await rssKiB(p.pid);
      if (rss === undefined || loadRss === undefined || cpuBefore === undefined || !cpuAfter) {
        throw new Error(`The ${what} or its load exited at step ${step}`);
      }
      const record: IdleStep = {
        server,
        maxStreams: streams,
        shipped,
        tuned,
        step,
        open: line.open,
        failed: line.failed,
        closed: line.closed,
        seconds: line.seconds,
        serverRssKiB: rss,
        serverBaseRssKiB: base,
        kibPerConnection: line.open > 0 ? (rss - base) / line.open : 0,
        loadRssKiB: loadRss,
        serverIdleCpuPercent: Math.max(0, ((cpuAfter - cpuBefore) / windowMs) * 100),
        errors: line.errors,
      };
      steps.push(record);
      log(
        `idle ${what}: ${line.open} of ${step} open (${line.failed} failed), ` +
          `RSS ${(rss / 1024).toFixed(0)} MiB (${record.kibPerConnection.toFixed(1)} KiB each), ` +
          `idle CPU ${record.serverIdleCpuPercent.toFixed(1)} %`,
      );
      if (line.open < step) break; // the load could not reach it; later steps would not either
      await p.sendLine("next");
    }
  }

  const { mib, extrapolated } = relayAt10k(steps);
  return {
    limits,
    handshakes: {
      concurrency: CONCURRENCY,
      seconds: options.handshakeSeconds,
      runs,
      summary: {
        ztna: spread(rate("ztna").map((r) => r.perSecond)),
        bare: spread(rate("bare").map((r) => r.perSecond)),
      },
      ratio: pairedRatio(rate("ztna"), rate("bare"), "perSecond"),
    },
    idle: { steps, relayMiBAt10k: mib, extrapolated },
  };
}

/**
 * The relay's RSS at {@link IDLE_TARGET_CONNECTIONS} idle clients: measured when a step held that
 * many, else extrapolated linearly from the largest step (base RSS + KiB per connection × 10,000).
 */
export function relayAt10k(steps: readonly IdleStep[]): { mib: number; extrapolated: boolean } {
  const relay = steps.filter((s) => s.server === "ztna" && s.shipped && s.open > 0);
  const reached = relay.find((s) => s.open >= IDLE_TARGET_CONNECTIONS);
  if (reached) return { mib: reached.serverRssKiB / 1024, extrapolated: false };
  const largest = relay.reduce<IdleStep | undefined>(
    (best, s) => (!best || s.open > best.open ? s : best),
    undefined,
  );
  if (!largest) throw new Error("No idle relay connection was measured");
  const kib = largest.serverBaseRssKiB + largest.kibPerConnection * IDLE_TARGET_CONNECTIONS;
  return { mib: kib / 1024, extrapolated: true };
}
