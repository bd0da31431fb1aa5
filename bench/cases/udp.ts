/**
 * Case 5: UDP, 1,000-byte payloads, through three paths that all end at a counting sink:
 *
 * - direct UDP: the bench's socket → the backend's UDP sink (the machine's limit, for scale);
 * - QUIC datagram hop: one Deno QUIC connection, datagrams → the hop's server (the baseline);
 * - QUIC datagram pipe: two such hops through a minimal JS middle process (no auth, no flow table):
 *   the like-for-like baseline of ztna's two hops;
 * - UDP pipe: the bench's socket → a UDP entry → QUIC datagram → a second middle → QUIC datagram →
 *   a UDP exit → the backend's UDP sink: ztna's exact shape (same sockets, queues and processes)
 *   without ztna's logic (auth, flow tables, flow ids, counters);
 * - ztna: the bench's socket → client UDP forward → relay → connector → the backend's UDP sink.
 *
 * Per repetition and path:
 * 1. flood: `udpPackets` datagrams as fast as the sender can (each send awaited) — delivered rate
 *    and loss of a sender that ignores the path's capacity;
 * 2. ramp: short series paced at 1,000, 2,000, 4,000 … 128,000 packets/s, stopping after the
 *    first with more than 5 % loss — a path that collapses under a flood still shows what it can
 *    carry;
 * 3. the maximum is the highest delivered rate of flood and ramp; a last series paced at half of
 *    it for `udpSeconds` gives the loss a sender that respects the path's capacity sees.
 * Delivered rate = packets counted at the sink ÷ the time from their first to their last arrival;
 * counts come from the sink, asked out of band once they stop moving (bench/udp_probe.ts).
 * @module
 */
import {
  DatagramHopClient,
  type ProbePath,
  QueryWaiter,
  READY as HOP_READY,
  type SinkCount,
  UDP_ENTRY_READY,
} from "../baselines/quic_datagram_hop.ts";
import { denoScript } from "../helper_process.ts";
import type { Lab } from "../lab.ts";
import type { BenchOptions } from "../options.ts";
import { withCpu } from "../proc_stats.ts";
import type { PacedSeries, UdpCase, UdpPathId, UdpRep, UdpSeries } from "../results_schema.ts";
import { pairedRatio, spread } from "../stats.ts";
import { encodeProbe } from "../udp_probe.ts";
import { rotate } from "./tcp.ts";

/** Paths in table order. */
export const UDP_PATHS: ReadonlyArray<{ id: UdpPathId; label: string }> = [
  { id: "direct", label: "direct UDP" },
  { id: "hop", label: "QUIC datagram hop (1 hop)" },
  { id: "pipe", label: "QUIC datagram pipe (2 hops)" },
  { id: "udp-pipe", label: "UDP → two-hop QUIC datagram pipe → UDP (ztna's shape, no auth)" },
  { id: "ztna", label: "ztna client→relay→connector" },
];

/** The payload size the issue states targets for. */
export const PAYLOAD_BYTES = 1_000;
/** A burst stops after this long even if not all datagrams went out. */
const BURST_DEADLINE_MS = 10_000;
/** Paced series are capped in count, whatever the measured maximum. */
const MAX_PACED_PACKETS = 500_000;
/** Rates of the ramp, packets per second. */
const RAMP_PPS = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000] as const;
/** The ramp stops after a step losing more than this share. */
const RAMP_STOP_LOSS = 0.05;
/** A paced sender sends at most this many milliseconds' worth of datagrams back to back. */
const MAX_BURST_MS = 2;
/** The sink's count is final once two readings this far apart agree. */
const SETTLE_POLL_MS = 100;
/** Readings at most, before the count is taken as it is. */
const SETTLE_POLLS = 40;

/** A UDP socket sending to `dataPort`, asking the sink on `sinkPort` for counts. */
class UdpSocketPath implements ProbePath {
  readonly #data = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  readonly #queries = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  readonly #waiter = new QueryWaiter();
  readonly #to: Deno.NetAddr;
  readonly #sink: Deno.NetAddr;

  constructor(dataPort: number, sinkPort: number) {
    this.#to = { transport: "udp", hostname: "127.0.0.1", port: dataPort };
    this.#sink = { transport: "udp", hostname: "127.0.0.1", port: sinkPort };
    void (async () => {
      for await (const [d] of this.#queries) this.#waiter.receive(d);
    })().catch(() => {/* closed */});
  }

  async send(datagram: Uint8Array): Promise<void> {
    await this.#data.send(datagram, this.#to);
  }

  query(run: number): Promise<SinkCount> {
    return this.#waiter.ask(run, async (q) => void await this.#queries.send(q, this.#sink));
  }

  close(): void {
    this.#data.close();
    this.#queries.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `count` probes of `run`, paced at `pps` or as fast as possible; bounded by `deadlineMs`. */
async function sendSeries(
  path: ProbePath,
  run: number,
  options: { count: number; pps?: number; deadlineMs: number; signal: AbortSignal },
): Promise<{ sent: number; sendMs: number }> {
  const { count, pps, deadlineMs, signal } = options;
  const start = performance.now();
  const deadline = start + deadlineMs;
  const interval = pps ? 1_000 / pps : 0;
  // A token bucket: timers fire in whole milliseconds (often late), so a paced sender sends small
  // bursts; the bucket caps them at MAX_BURST_MS worth (at least 32 datagrams) so a late timer
  // does not turn into a burst that overflows socket buffers a steady rate never fills.
  const cap = pps ? Math.max(32, (pps * MAX_BURST_MS) / 1_000) : 0;
  let tokens = 1;
  let last = start;
  const refill = () => {
    const now = performance.now();
    tokens = Math.min(cap, tokens + (now - last) / interval);
    last = now;
  };
  let sent = 0;
  for (let i = 0; i < count; i++) {
    if (interval > 0) {
      refill();
      if (tokens < 1) {
        await sleep(Math.max(1, (1 - tokens) * interval));
        refill();
      }
      tokens--;
    }
    await path.send(encodeProbe(run, i, PAYLOAD_BYTES)).catch(() => {/* counted as lost */});
    sent++;
    if ((i & 127) === 0 && (performance.now() > deadline || signal.aborted)) break;
  }
  signal.throwIfAborted();
  return { sent, sendMs: Math.max(0.001, performance.now() - start) };
}

/** The sink's count of `run` once it stops growing. */
async function settledCount(path: ProbePath, run: number): Promise<SinkCount> {
  let last = await path.query(run);
  for (let i = 0; i < SETTLE_POLLS; i++) {
    await sleep(SETTLE_POLL_MS);
    const now = await path.query(run);
    if (now.count === last.count) return now;
    last = now;
  }
  return last;
}

function seriesResult(sent: { sent: number; sendMs: number }, got: SinkCount): UdpSeries {
  const received = Math.min(got.count, sent.sent);
  const spanS = got.spanUs / 1e6;
  return {
    sent: sent.sent,
    sendMs: sent.sendMs,
    offeredPps: sent.sent / (sent.sendMs / 1_000),
    received,
    deliveredPps: received >= 2 && spanS > 0 ? (received - 1) / spanS : 0,
    loss: 1 - received / sent.sent,
  };
}

/** Sends single probes until one arrives: opens the ztna flow, wakes every process on the way. */
async function warm(path: ProbePath, run: number, signal: AbortSignal): Promise<void> {
  for (let i = 0; i < 40; i++) {
    signal.throwIfAborted();
    await path.send(encodeProbe(run, i, PAYLOAD_BYTES)).catch(() => {});
    await sleep(50);
    if ((await path.query(run)).count > 0) return;
  }
  throw new Error("No probe datagram reached the sink within 2 s of tries");
}

/** Runs case 5. */
export async function runUdpCase(
  lab: Lab,
  options: BenchOptions,
  ctx: { signal: AbortSignal; log: (line: string) => void },
): Promise<UdpCase> {
  const { signal, log } = ctx;
  const backend = await lab.backend();
  const hop = await lab.hop();
  const ztna = await lab.ztna();
  const { pki } = lab.fx;
  await using stack = new AsyncDisposableStack();
  /** Starts one process of quic_datagram_hop.ts; resolves with it and its readiness port. */
  const baseline = async (mode: string, args: string[], ready = HOP_READY, name = mode) => {
    const process = stack.use(denoScript(
      "bench/baselines/quic_datagram_hop.ts",
      [`--mode=${mode}`, ...args],
      {
        name: `datagram pipe ${name}`,
        flags: ["--allow-net=127.0.0.1", `--allow-read=${lab.fx.dir}`],
      },
    ));
    return { process, port: Number((await process.waitFor(ready, 30_000))[1]) };
  };
  const tls = [`--cert=${pki.certPath}`, `--key=${pki.keyPath}`];
  const middle = (upstream: number, name: string) =>
    baseline(
      "middle",
      [...tls, `--ca=${pki.caCertPath}`, `--upstream=${upstream}`],
      HOP_READY,
      name,
    );
  const pipeMiddle = await middle(hop.port, "middle");
  const udpExit = await baseline("udp-exit", [...tls, `--target=${backend.udpPort}`]);
  const udpMiddle = await middle(udpExit.port, "udp-middle");
  const udpEntry = await baseline(
    "udp-entry",
    [`--ca=${pki.caCertPath}`, `--upstream=${udpMiddle.port}`],
    UDP_ENTRY_READY,
  );
  const caCert = await Deno.readTextFile(pki.caCertPath);
  const probePaths: Record<UdpPathId, ProbePath> = {
    direct: new UdpSocketPath(backend.udpPort, backend.udpPort),
    hop: await DatagramHopClient.connect({ port: hop.port, caCert }),
    pipe: await DatagramHopClient.connect({ port: pipeMiddle.port, caCert }),
    "udp-pipe": new UdpSocketPath(udpEntry.port, backend.udpPort),
    ztna: new UdpSocketPath(ztna.udpPort, backend.udpPort),
  };
  for (const p of Object.values(probePaths)) stack.defer(() => p.close());
  const pids: Record<UdpPathId, Record<string, number>> = {
    direct: {},
    hop: { server: hop.pid },
    pipe: { middle: pipeMiddle.process.pid, server: hop.pid },
    "udp-pipe": {
      entry: udpEntry.process.pid,
      middle: udpMiddle.process.pid,
      exit: udpExit.process.pid,
    },
    ztna: { client: ztna.pids.client, relay: ztna.pids.relay, connector: ztna.pids.connector },
  };

  let nextRun = 1;
  const runs: UdpRep[] = [];
  for (let rep = 1; rep <= options.reps; rep++) {
    for (const [position, p] of rotate(UDP_PATHS, rep - 1).entries()) {
      const path = probePaths[p.id];
      await warm(path, nextRun++, signal);
      const series = async (count: number, pps?: number) => {
        const run = nextRun++;
        const deadlineMs = pps ? (count / pps) * 3_000 + 5_000 : BURST_DEADLINE_MS;
        const sent = await sendSeries(path, run, { count, pps, deadlineMs, signal });
        return seriesResult(sent, await settledCount(path, run));
      };
      const { value: flood, cpuMs } = await withCpu(pids[p.id], () => series(options.udpPackets));
      const ramp: PacedSeries[] = [];
      for (const targetPps of RAMP_PPS) {
        const count = Math.max(10, Math.round((targetPps * options.udpRampMs) / 1_000));
        const step = { ...(await series(count, targetPps)), targetPps };
        ramp.push(step);
        if (step.loss > RAMP_STOP_LOSS || step.offeredPps < targetPps / 2) break;
      }
      const maxPps = Math.max(flood.deliveredPps, ...ramp.map((s) => s.deliveredPps));
      if (!(maxPps > 0)) throw new Error(`${p.label}: almost no datagram arrived`);
      const targetPps = maxPps / 2;
      const paced = {
        ...(await series(
          Math.min(MAX_PACED_PACKETS, Math.max(2, Math.ceil(targetPps * options.udpSeconds))),
          targetPps,
        )),
        targetPps,
      };
      runs.push({
        path: p.id,
        rep,
        position,
        payloadBytes: PAYLOAD_BYTES,
        flood,
        ramp,
        maxPps,
        paced,
        cpuMsDuringFlood: cpuMs,
      });
      const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
      log(
        `UDP rep ${rep}/${options.reps} ${p.label}: max ${maxPps.toFixed(0)} pkt/s; flood ` +
          `${flood.deliveredPps.toFixed(0)} pkt/s (offered ${flood.offeredPps.toFixed(0)}, loss ` +
          `${pct(flood.loss)}); ramp ${
            ramp.map((s) => `${s.targetPps / 1_000}k→${pct(s.loss)}`).join(" ")
          }; paced at ${targetPps.toFixed(0)} pkt/s: loss ${pct(paced.loss)}`,
      );
    }
  }
  return summarizeUdp(runs);
}

/** Summary and the ztna ÷ hop, ztna ÷ pipe and ztna ÷ UDP pipe ratios of the repetitions. */
export function summarizeUdp(runs: UdpRep[]): UdpCase {
  const of = (id: UdpPathId) => runs.filter((r) => r.path === id);
  const summary: UdpCase["summary"] = {};
  for (const p of UDP_PATHS) {
    const r = of(p.id);
    if (r.length === 0) continue;
    summary[p.id] = {
      maxPps: spread(r.map((x) => x.maxPps)),
      floodPps: spread(r.map((x) => x.flood.deliveredPps)),
      floodLoss: spread(r.map((x) => x.flood.loss)),
      pacedPps: spread(r.map((x) => x.paced.deliveredPps)),
      pacedLoss: spread(r.map((x) => x.paced.loss)),
    };
  }
  return {
    paths: [...UDP_PATHS],
    payloadBytes: PAYLOAD_BYTES,
    runs,
    summary,
    ratio: pairedRatio(of("ztna"), of("hop"), "maxPps"),
    ...(of("pipe").length > 0 ? { ratioPipe: pairedRatio(of("ztna"), of("pipe"), "maxPps") } : {}),
    ...(of("udp-pipe").length > 0
      ? { ratioUdpPipe: pairedRatio(of("ztna"), of("udp-pipe"), "maxPps") }
      : {}),
  };
}
