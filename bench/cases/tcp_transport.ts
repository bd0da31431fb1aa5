/**
 * Case 12 (issue 17): ztna over its TCP transport (TLS over TCP, one TLS connection per flow) next
 * to ztna over QUIC through the same relay, the two-hop QUIC pipe, `ssh -J` and stunnel, in one run.
 *
 * - Throughput and latency: per repetition and path (the order rotating), one upload and one
 *   download, the aggregate of `--flows` parallel flows both ways, and 64-byte round trips (p50,
 *   p99), as in cases 1–2 but at most {@link MAX_MIB} MiB per transfer so the case stays short.
 * - A new connection's first byte through each running path (its forward already up): TCP
 *   connect, echo request, first answer byte — a new TLS connection to the relay and a connector's
 *   idle OFFER over TCP, a new stream over QUIC, a new channel in `ssh -J`'s session, a TLS
 *   handshake for stunnel.
 * - Memory per idle peer: a fresh relay per transport, `idle` authenticated clients held by one
 *   load process (bench/relay_load.ts, `ztna` or `ztna-tcp`), RSS delta ÷ peers.
 *
 * Both ztna pairs (a connector and a client each, `transport = "quic"` / `"tcp"`) use one relay of
 * this case with the bench's raised limits and their own service to the same bench backend.
 * @module
 */
import { z } from "zod";
import type { HelperProcess } from "../helper_process.ts";
import { denoScript } from "../helper_process.ts";
import type { Lab } from "../lab.ts";
import { download, firstResponseByte, parallel, upload } from "../load.ts";
import type { BenchOptions } from "../options.ts";
import { rssKiB } from "../proc_stats.ts";
import type {
  TransportCase,
  TransportFirstByte,
  TransportIdle,
  TransportPathId,
  TransportRep,
} from "../results_schema.ts";
import { pairedRatio, pairedRatios, spread, spreadOf } from "../stats.ts";
import { clientConfig, connectorConfig, spawnZtna, UNLIMITED } from "../ztna_nodes.ts";
import { freeTcpPort } from "../../tests/_helpers/cluster.ts";
import { rotate, TCP_METRICS, tcpMetrics, timedRoundTrips, transferIo, warmUp } from "./tcp.ts";

/** Paths in table order. */
export const TRANSPORT_PATHS: ReadonlyArray<{ id: TransportPathId; label: string }> = [
  { id: "tcp", label: "ztna over TCP (TLS per flow)" },
  { id: "quic", label: "ztna over QUIC (relay path)" },
  { id: "pipe", label: "two-hop QUIC pipe" },
  { id: "sshJ", label: "ssh -J (bastion → sshd)" },
  { id: "stunnel", label: "stunnel TLS (client → server)" },
];

/** Largest transfer of this case in MiB: 5 paths × 4 transfers × reps must fit in ~4 minutes. */
export const MAX_MIB = 64;
/** Idle peers per transport in a full or quick run; a smoke run holds {@link SMOKE_IDLE_PEERS}. */
export const IDLE_PEERS = 200;
const SMOKE_IDLE_PEERS = 20;
/** Relay idle timeout of the long-lived pairs (they keep-alive every second). */
const PAIR_IDLE_TIMEOUT_MS = 5_000;
/** Relay idle timeout of the idle-peer relays; the load keeps-alive every 20 s. */
const IDLE_RELAY_TIMEOUT_MS = 60_000;
/** Readiness of a process or a path on a busy 2-core machine. */
const READY_TIMEOUT_MS = 30_000;
/** A new connection through a running path has this long to answer. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;
/** Time the load has to open its idle peers (it stops itself at the step timeout). */
const IDLE_STEP_TIMEOUT_S = 60;
/** Pause before reading memory, so the relay finishes its work (and a GC may run). */
const SETTLE_MS = 1_000;
const MIB = 1024 * 1024;

const Holding = z.object({
  open: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
  errors: z.record(z.string(), z.number().int().nonnegative()),
});

type Ctx = { signal: AbortSignal; log: (line: string) => void };

/** Waits until `port` answers an echo end to end. */
async function ready(port: number, what: string, signal: AbortSignal): Promise<void> {
  try {
    await firstResponseByte(port, performance.now(), {
      signal,
      timeoutMs: READY_TIMEOUT_MS,
      retryMs: 20,
    });
  } catch (e) {
    throw new Error(`${what} never answered: ${e instanceof Error ? e.message : e}`, { cause: e });
  }
}

/**
 * A connector and a client over `transport` through the relay on `relayPort`, with a service of
 * their own to the bench backend; resolves with the client's forward port.
 */
async function startPair(
  lab: Lab,
  stack: AsyncDisposableStack,
  relayPort: number,
  transport: "quic" | "tcp",
  signal: AbortSignal,
): Promise<number> {
  const { fx } = lab;
  const backend = await lab.backend();
  const service = `bench-${transport}`;
  const extra = `transport = "${transport}"`;
  const connector: HelperProcess = stack.use(
    await spawnZtna(
      "connector",
      await connectorConfig(
        fx,
        relayPort,
        { [service]: { backend: `127.0.0.1:${backend.tcpPort}`, protocol: "tcp" } },
        (await fx.token("connector", { services: [service] })).path,
        extra,
      ),
      { name: `connector over ${transport}` },
    ),
  );
  await connector.waitFor(new RegExp(`Registered service ${service}`), READY_TIMEOUT_MS);
  const port = freeTcpPort();
  const client: HelperProcess = stack.use(
    await spawnZtna(
      "client",
      await clientConfig(
        fx,
        relayPort,
        { [`127.0.0.1:${port}`]: service },
        (await fx.token("client", { services: [service] })).path,
        extra,
      ),
      { name: `client over ${transport}` },
    ),
  );
  await client.waitFor(new RegExp(`Connected to relay .* over ${transport}`), READY_TIMEOUT_MS);
  await ready(port, `ztna over ${transport}`, signal);
  return port;
}

/** One repetition of one path: 1-flow both ways, parallel flows both ways, round trips. */
async function measurePath(
  port: number,
  options: Pick<BenchOptions, "rtts" | "warmup" | "flows">,
  bytes: number,
  signal: AbortSignal,
): Promise<Omit<TransportRep, "path" | "rep" | "position">> {
  const io = transferIo(bytes, signal);
  const up = await upload(port, bytes, io);
  const down = await download(port, bytes, io);
  const parallelUpload = await parallel("upload", port, bytes, { ...io, flows: options.flows });
  const parallelDownload = await parallel("download", port, bytes, { ...io, flows: options.flows });
  const roundTrips = await timedRoundTrips(port, options, signal);
  return { upload: up, download: down, parallelUpload, parallelDownload, roundTrips };
}

/** Memory of a fresh relay holding `peers` idle authenticated clients over `transport`. */
async function idleMemory(
  lab: Lab,
  transport: "quic" | "tcp",
  peers: number,
  ctx: Ctx,
): Promise<TransportIdle> {
  const { fx } = lab;
  await using relay = await lab.freshRelay(`idle-${transport}`, {
    idleTimeoutMs: IDLE_RELAY_TIMEOUT_MS,
    limits: UNLIMITED,
  });
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const base = await rssKiB(relay.process.pid);
  if (base === undefined) throw new Error(`The relay for idle ${transport} peers exited`);
  const token = await fx.token("client", { services: ["bench-tcp"] });
  await using load = denoScript(
    "bench/relay_load.ts",
    [
      `--target=${transport === "tcp" ? "ztna-tcp" : "ztna"}`,
      `--port=${relay.port}`,
      `--ca=${fx.pki.caCertPath}`,
      `--token-file=${token.path}`,
      "--concurrency=32",
      "--mode=idle",
      `--steps=${peers}`,
      `--step-timeout-s=${IDLE_STEP_TIMEOUT_S}`,
    ],
    {
      name: `idle peers over ${transport}`,
      flags: ["--allow-net=127.0.0.1", `--allow-read=${fx.dir}`],
      stdin: "piped",
    },
  );
  const m = await load.waitFor(/Holding (\{.*\})/, (IDLE_STEP_TIMEOUT_S + 30) * 1_000);
  const line = Holding.parse(JSON.parse(m[1]));
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  ctx.signal.throwIfAborted();
  const rss = await rssKiB(relay.process.pid);
  if (rss === undefined) throw new Error(`The relay exited holding idle ${transport} peers`);
  const record: TransportIdle = {
    transport,
    peers,
    open: line.open,
    failed: line.failed,
    seconds: line.seconds,
    baseRssKiB: base,
    rssKiB: rss,
    kibPerPeer: line.open > 0 ? (rss - base) / line.open : 0,
    errors: line.errors,
  };
  ctx.log(
    `transport: ${line.open} of ${peers} idle peers over ${transport} (${line.failed} failed), ` +
      `relay RSS ${(base / 1024).toFixed(0)} → ${(rss / 1024).toFixed(0)} MiB, ` +
      `${record.kibPerPeer.toFixed(1)} KiB per peer`,
  );
  return record;
}

/** Runs case 12. */
export async function runTransportCase(
  lab: Lab,
  options: BenchOptions,
  ctx: Ctx,
): Promise<TransportCase> {
  const { signal, log } = ctx;
  await using stack = new AsyncDisposableStack();
  log("transport: starting a relay and a ztna pair over QUIC and over TCP");
  const relay = stack.use(
    await lab.freshRelay("transport", { idleTimeoutMs: PAIR_IDLE_TIMEOUT_MS, limits: UNLIMITED }),
  );
  const [tcp, quic] = [
    await startPair(lab, stack, relay.port, "tcp", signal),
    await startPair(lab, stack, relay.port, "quic", signal),
  ];
  // allSettled, not all: a failure must not leave other start-ups running while the lab stops.
  const started = await Promise.allSettled([
    lab.pipe(),
    lab.sshForward("jump"),
    lab.stunnel(),
  ]);
  const [pipe, sshJ, stunnel] = started.map((r) => {
    if (r.status === "rejected") throw r.reason;
    return r.value;
  });
  const ports: Partial<Record<TransportPathId, number>> = { tcp, quic, pipe, sshJ, stunnel };
  const paths = TRANSPORT_PATHS.filter((p) => ports[p.id] !== undefined);
  const mib = Math.min(options.mib, MAX_MIB);
  const bytes = mib * MIB;

  log("transport: warm-up pass (not recorded)");
  for (const p of paths) await warmUp(ports[p.id] ?? 0, { ...options, mib }, signal);

  const runs: TransportRep[] = [];
  for (let rep = 1; rep <= options.reps; rep++) {
    for (const [position, p] of rotate(paths, rep - 1).entries()) {
      const m = await measurePath(ports[p.id] ?? 0, options, bytes, signal);
      runs.push({ path: p.id, rep, position, ...m });
      log(
        `transport rep ${rep}/${options.reps} ${p.label}: up ${m.upload.mbps.toFixed(0)}, ` +
          `down ${m.download.mbps.toFixed(0)}, ${options.flows}× up ` +
          `${m.parallelUpload.mbps.toFixed(0)}, ${options.flows}× down ` +
          `${m.parallelDownload.mbps.toFixed(0)} Mbit/s; p50 ${m.roundTrips.p50Us.toFixed(0)} µs`,
      );
    }
  }

  const firstBytes: TransportFirstByte[] = [];
  for (let rep = 1; rep <= options.ttfb; rep++) {
    for (const p of rotate(paths, rep - 1)) {
      const first = await firstResponseByte(ports[p.id] ?? 0, performance.now(), {
        signal,
        timeoutMs: FIRST_BYTE_TIMEOUT_MS,
        retryMs: 5,
      });
      firstBytes.push({
        path: p.id,
        rep,
        firstByteMs: first.firstByteMs,
        attempts: first.attempts,
      });
    }
  }
  log(
    `transport: new connection's first byte, ${options.ttfb} each: ${
      paths.map((p) => {
        const ms = spread(firstBytes.filter((f) => f.path === p.id).map((f) => f.firstByteMs));
        return `${p.id} ${ms.median.toFixed(1)} ms`;
      }).join(", ")
    }`,
  );

  const peers = options.preset === "smoke" ? SMOKE_IDLE_PEERS : IDLE_PEERS;
  const idle: TransportIdle[] = [];
  for (const transport of ["quic", "tcp"] as const) {
    idle.push(await idleMemory(lab, transport, peers, ctx));
  }
  return summarizeTransport(paths, options.flows, runs, firstBytes, idle);
}

/** Summary and ratios (ztna over TCP ÷ each other path) of the recorded samples. */
export function summarizeTransport(
  paths: ReadonlyArray<{ id: TransportPathId; label: string }>,
  flows: number,
  runs: TransportRep[],
  firstBytes: TransportFirstByte[],
  idle: TransportIdle[],
): TransportCase {
  const of = (id: TransportPathId) => runs.filter((r) => r.path === id).map(tcpMetrics);
  const fb = (id: TransportPathId) => firstBytes.filter((f) => f.path === id);
  const summary: TransportCase["summary"] = {};
  for (const p of paths) {
    summary[p.id] = {
      ...spreadOf(of(p.id), TCP_METRICS),
      firstByteMs: spread(fb(p.id).map((f) => f.firstByteMs)),
    };
  }
  const ratios: TransportCase["ratios"] = [];
  if (of("tcp").length > 0) {
    for (const p of paths.filter((p) => p.id !== "tcp")) {
      ratios.push({
        baseline: p.id,
        ...pairedRatios(of("tcp"), of(p.id), TCP_METRICS),
        firstByteMs: pairedRatio(fb("tcp"), fb(p.id), "firstByteMs"),
      });
    }
  }
  return { paths: [...paths], flows, runs, firstBytes, summary, ratios, idle };
}
