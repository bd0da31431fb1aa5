/**
 * `deno task bench`: every figure of ztna next to its baseline from the same run, on loopback.
 *
 * Cases (docs/BENCHMARKS.md explains each and how to read it):
 * 1–2. TCP bulk throughput (one flow and parallel flows, both ways) and 64-byte round trips through
 *      direct TCP, the two-hop QUIC pipe, ztna, `ssh -L`, `ssh -J` and stunnel;
 * 3.   time to first byte of a new ztna client process vs a new `ssh -L` / `ssh -J`;
 * 4.   relay handshakes per second and memory with 1,000 / 5,000 / 10,000 idle clients, vs a bare
 *      Deno QUIC server;
 * 5.   UDP packets/s and loss, at the maximum and paced, vs a direct QUIC datagram hop;
 * 6.   the connector's Worker sandbox: the shipped connector vs its data plane on the main thread;
 * 7.   the direct (P2P) path: a new client's first byte over it, and throughput and round trips
 *      through it vs the relayed path and the two-hop QUIC pipe (checked on the relay's counters);
 * 8.   recovery after kill -9 of a pool member, the only connector, the relay: time to the first
 *      new connection that succeeds, and failed connections;
 * 9.   keep-alive cost: relay CPU and packets/s at N idle clients, shipped keep-alive vs 20 s;
 * 10.  real applications: pgbench and wrk through ztna, `ssh -L`, `ssh -J`, stunnel and directly;
 * 11.  a fleet of relays on PostgreSQL;
 * 12.  the TCP transport: ztna over TLS/TCP vs ztna over QUIC, the two-hop QUIC pipe, `ssh -J` and
 *      stunnel — throughput, round trips, a new connection's first byte, relay memory per idle peer.
 *
 * Writes `<out>/<YYYY-MM-DD>.json` (raw samples, machine, verdicts; validated against
 * results_schema.ts) and `<out>/latest.md`, and prints the markdown. Every process it starts is
 * stopped on success, failure, Ctrl-C and `--max-minutes`.
 * @module
 */
import { runAppsCase } from "./cases/apps.ts";
import { runDirectCase } from "./cases/direct.ts";
import { runKeepaliveCase } from "./cases/keepalive.ts";
import { runRecoveryCase } from "./cases/recovery.ts";
import { runFleetCase } from "./cases/fleet.ts";
import { runRelayCase } from "./cases/relay_capacity.ts";
import { runSandboxCase } from "./cases/sandbox.ts";
import { runTcpCase } from "./cases/tcp.ts";
import { runTransportCase } from "./cases/tcp_transport.ts";
import { runTtfbCase } from "./cases/ttfb.ts";
import { runUdpCase } from "./cases/udp.ts";
import { ensureTools, findTools } from "./debian_tools.ts";
import { Lab } from "./lab.ts";
import { collectMachineInfo } from "./machine_info.ts";
import { type BenchOptions, parseBenchArgs, USAGE } from "./options.ts";
import { renderReport } from "./report.ts";
import { BenchResult, type CaseId } from "./results_schema.ts";
import { judgeTargets } from "./targets.ts";

function log(line: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** Puts arrays of numbers on one line: 90,000 samples should not be 90,000 lines. */
function compactNumberArrays(json: string): string {
  return json.replace(
    /\[\s*-?\d[\d.eE+-]*(?:,\s*-?\d[\d.eE+-]*)*\s*\]/g,
    (m) => m.replace(/\s+/g, ""),
  );
}

/** The command line as a reader would type it. */
function commandLine(args: string[]): string {
  const rest = args[0] === "--" ? args.slice(1) : args;
  return rest.length ? `deno task bench -- ${rest.join(" ")}` : "deno task bench";
}

/** Runs the chosen cases, then writes and prints the results; the result as written. */
async function measure(
  options: BenchOptions,
  args: string[],
  signal: AbortSignal,
): Promise<BenchResult> {
  const startedAt = new Date();
  const date = startedAt.toISOString().slice(0, 10);
  const machine = collectMachineInfo();
  log(
    `${machine.cores} cores, ${machine.cpuModel}, Deno ${machine.deno}, load ` +
      `${machine.loadavgAtStart.map((l) => l.toFixed(2)).join(" ")}; cases ${
        options.only.join(", ")
      }`,
  );
  // --smoke (CI) never uses the ssh and stunnel baselines, installed or not: it proves the harness,
  // and a half-configured sshd on a CI machine must not fail it.
  const tools = options.preset === "smoke"
    ? {
      ssh: { missing: "not used by --smoke" },
      stunnel: { missing: "not used by --smoke" },
    } as const
    : options.install
    ? await ensureTools(true, log)
    : await findTools();
  const ctx = { signal, log };
  const results: Pick<
    BenchResult,
    | "tcp"
    | "ttfb"
    | "relay"
    | "udp"
    | "sandbox"
    | "direct"
    | "recovery"
    | "keepalive"
    | "apps"
    | "fleet"
    | "transport"
  > = {};
  const t0 = performance.now();
  let skipped;
  {
    await using lab = await Lab.create({
      log,
      tools,
      signal,
      cpuProfDir: options.cpuProf ? `${options.outDir}/profiles/${date}` : undefined,
    });
    const runners: Record<CaseId, () => Promise<void>> = {
      tcp: async () => void (results.tcp = await runTcpCase(lab, options, ctx)),
      ttfb: async () => void (results.ttfb = await runTtfbCase(lab, options, ctx)),
      relay: async () => void (results.relay = await runRelayCase(lab, options, ctx)),
      udp: async () => void (results.udp = await runUdpCase(lab, options, ctx)),
      sandbox: async () => void (results.sandbox = await runSandboxCase(lab, options, ctx)),
      direct: async () => void (results.direct = await runDirectCase(lab, options, ctx)),
      recovery: async () => void (results.recovery = await runRecoveryCase(lab, options, ctx)),
      keepalive: async () => void (results.keepalive = await runKeepaliveCase(lab, options, ctx)),
      apps: async () => void (results.apps = await runAppsCase(lab, options, ctx)),
      fleet: async () => void (results.fleet = await runFleetCase(lab, options, ctx)),
      transport: async () => void (results.transport = await runTransportCase(lab, options, ctx)),
    };
    for (const c of options.only) {
      signal.throwIfAborted();
      log(`case ${c}`);
      await runners[c]();
    }
    skipped = lab.skipped;
    log("stopping every process");
  }
  const measuredSeconds = (performance.now() - t0) / 1_000;
  const input = {
    schema: 2 as const,
    date,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    measuredSeconds,
    command: commandLine(args),
    machine: { ...machine, loadavgAtEnd: Deno.loadavg() },
    options: {
      preset: options.preset,
      only: options.only.join(","),
      reps: options.reps,
      mib: options.mib,
      rtts: options.rtts,
      warmup: options.warmup,
      flows: options.flows,
      ttfb: options.ttfb,
      handshakeSeconds: options.handshakeSeconds,
      idle: options.idle,
      udpPackets: options.udpPackets,
      udpSeconds: options.udpSeconds,
      udpRampMs: options.udpRampMs,
      install: options.install,
      cpuProf: options.cpuProf,
      recoveryRuns: options.recoveryRuns,
      keepaliveIdle: options.keepaliveIdle,
      appSeconds: options.appSeconds,
    },
    cases: options.only,
    skipped,
    ...results,
    targets: judgeTargets(results),
  };
  const result = BenchResult.parse({ ...input, markdown: renderReport(input) });
  await Deno.mkdir(options.outDir, { recursive: true });
  const jsonPath = `${options.outDir}/${date}.json`;
  await Deno.writeTextFile(jsonPath, compactNumberArrays(JSON.stringify(result, null, 1)) + "\n");
  await Deno.writeTextFile(`${options.outDir}/latest.md`, result.markdown);
  log(`wrote ${jsonPath} and ${options.outDir}/latest.md`);
  console.log(result.markdown);
  return result;
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
  const deadline = AbortSignal.timeout(options.maxMinutes * 60_000);
  const signal = AbortSignal.any([interrupted.signal, deadline]);
  try {
    await measure(options, args, signal);
    return 0;
  } catch (e) {
    const why = signal.aborted
      ? ` (${
        signal.reason instanceof Error
          ? signal.reason.message
          : `--max-minutes ${options.maxMinutes}`
      })`
      : "";
    console.error(`Bench failed${why}: ${e instanceof Error ? e.stack ?? e.message : e}`);
    return 1;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}

if (import.meta.main) {
  // Every process the run started is stopped by now; exit even if an op is still pending (after
  // an interrupt, a wait abandoned mid-case can keep the event loop alive until --max-minutes).
  Deno.exit(await main(Deno.args));
}
