/**
 * Case 7: the direct (P2P) path against the relayed one, in the same run, on loopback. One fresh
 * relay (its `/metrics` public on loopback), one connector with `direct = true` serving the bench
 * backend, and clients that differ only in `direct = true | false`.
 *
 * 1. Time to first byte of a fresh `--role=client` process (direct paths on), as in case 3: from
 *    the spawn until the first echo byte of the first flow, whichever path it took, and until the
 *    first echo byte of the first flow opened once the client said its direct path is up.
 * 2. Single-flow upload and download and 64-byte round trips (p50, p99) through the direct client,
 *    the relayed client and the two-hop QUIC pipe; repetitions rotate the order; direct ÷ relay and
 *    direct ÷ pipe are paired per repetition.
 *
 * Nothing is reported for a path that was not checked: around every direct measurement the relay's
 * `ztna_flows_opened_total` must not move and `ztna_relayed_bytes_total` must grow by less than 1 %
 * of the bytes moved; around every relayed one the relay must have carried at least the bytes
 * moved. Otherwise the case fails.
 * @module
 */
import { freeTcpPort } from "../../tests/_helpers/cluster.ts";
import { metricSum } from "../../tests/_helpers/metrics.ts";
import type { HelperProcess } from "../helper_process.ts";
import type { Lab } from "../lab.ts";
import type { BenchOptions } from "../options.ts";
import type { DirectCase, DirectPathId, DirectRep, DirectTtfbSample } from "../results_schema.ts";
import { FLOW_METRICS, pairedRatios, spreadOf } from "../stats.ts";
import {
  adminUrl,
  clientConfig,
  connectorConfig,
  spawnClient,
  spawnZtna,
  UNLIMITED,
} from "../ztna_nodes.ts";
import { rotate, roundTripBytes, singleFlow, warmUp } from "./tcp.ts";
import { describeFirstByte, probeFirstByte, withFreshProcess } from "./ttfb.ts";

/** The service of this case's connector. */
export const DIRECT_SERVICE = "bench-p2p";

/** Paths in table order. */
export const DIRECT_PATHS: ReadonlyArray<{ id: DirectPathId; label: string }> = [
  { id: "direct", label: "ztna direct: client → connector (P2P QUIC)" },
  { id: "relay", label: "ztna relayed: client → relay → connector" },
  { id: "pipe", label: "two-hop QUIC pipe" },
];

/** The client's line once its direct path to the service is up. */
const DIRECT_UP = new RegExp(`Direct path to "?${DIRECT_SERVICE}"? is up`);
/** The client's line when it loses it. */
const DIRECT_LOST = new RegExp(`Direct path to "?${DIRECT_SERVICE}"? lost`);

/**
 * Until the direct path is up: relay answer, punching (3 s at most) and the ticket HELLO; one
 * failed attempt is retried after `direct_retry_ms` (10 s), so this allows for one retry.
 */
const DIRECT_UP_TIMEOUT_MS = 25_000;

/** Start-up of a connector or client on a busy 2-core machine. */
const READY_TIMEOUT_MS = 30_000;

/** Relay idle timeout; the dialers keep-alive every second. */
const RELAY_IDLE_TIMEOUT_MS = 5_000;

/** The direct runs may leave at most this share of their bytes on the relay's counter. */
const DIRECT_RELAYED_SHARE = 0.01;

const MIB = 1024 * 1024;

/** The relay's counters that tell which path flows took. */
interface RelayCounters {
  /** `ztna_relayed_bytes_total`, both directions. */
  bytes: number;
  /** `ztna_flows_opened_total`, every service. */
  flows: number;
}

/** Reads the relay's public `/metrics`. */
async function readCounters(url: string, signal: AbortSignal): Promise<RelayCounters> {
  const res = await fetch(`${url}/metrics`, { signal });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}/metrics answered ${res.status}: ${text.slice(0, 200)}`);
  return {
    bytes: metricSum(text, "ztna_relayed_bytes_total"),
    flows: metricSum(text, "ztna_flows_opened_total"),
  };
}

/** Growth of the counters from `a` to `b`. */
function delta(a: RelayCounters, b: RelayCounters): RelayCounters {
  return { bytes: b.bytes - a.bytes, flows: b.flows - a.flows };
}

/**
 * What the relay's counters did around each measurement; {@link check} throws unless they say the
 * path carried the bytes as it should: direct runs open no flow on the relay and leave under 1 % of
 * their bytes on it; relayed runs leave all of them.
 */
export class RelayLedger {
  readonly #entries: Array<RelayCounters & { path: DirectPathId; moved: number }> = [];

  check(path: DirectPathId, what: string, moved: number, d: RelayCounters): void {
    if (path === "direct" && (d.flows > 0 || d.bytes >= DIRECT_RELAYED_SHARE * moved)) {
      throw new Error(
        `Direct path not verified (${what}): the relay opened ${d.flows} flow(s) and relayed ` +
          `${d.bytes} bytes while ${moved} bytes went through the direct client`,
      );
    }
    if (path === "relay" && d.bytes < moved) {
      throw new Error(
        `Relayed path not verified (${what}): the relay counted ${d.bytes} bytes of ${moved}`,
      );
    }
    this.#entries.push({ path, moved, ...d });
  }

  /** Totals for the report. */
  totals(): DirectCase["verified"] {
    const sum = (path: DirectPathId, key: "moved" | "bytes" | "flows") =>
      this.#entries.filter((e) => e.path === path).reduce((n, e) => n + e[key], 0);
    return {
      directBytesMoved: sum("direct", "moved"),
      relayedBytesDuringDirect: sum("direct", "bytes"),
      relayedFlowsDuringDirect: sum("direct", "flows"),
      relayBytesMoved: sum("relay", "moved"),
      relayedBytesDuringRelay: sum("relay", "bytes"),
    };
  }
}

/** The running world of this case; disposing it stops every process it started. */
interface DirectWorld extends AsyncDisposable {
  relayPort: number;
  metricsUrl: string;
  clientTokenPath: string;
  /** The relay, for its log. */
  relay: HelperProcess;
}

/** Starts the relay with public metrics and the connector that takes direct paths. */
async function startWorld(lab: Lab): Promise<DirectWorld> {
  const { fx } = lab;
  const backend = await lab.backend();
  await using stack = new AsyncDisposableStack();
  const relay = stack.use(
    await lab.freshRelay("direct", {
      idleTimeoutMs: RELAY_IDLE_TIMEOUT_MS,
      limits: UNLIMITED,
      admin: "metrics_public = true",
    }),
  );
  const metricsUrl = await adminUrl(relay.process);
  const connectorToken = await fx.token("connector", { services: [DIRECT_SERVICE] });
  const connector = stack.use(
    await spawnZtna(
      "connector",
      await connectorConfig(
        fx,
        relay.port,
        { [DIRECT_SERVICE]: { backend: `127.0.0.1:${backend.tcpPort}`, protocol: "tcp" } },
        connectorToken.path,
        "direct = true",
      ),
      { name: "connector-direct", cpuProfDir: lab.options.cpuProfDir },
    ),
  );
  await connector.waitFor(/Accepting direct paths on UDP port/, READY_TIMEOUT_MS);
  await connector.waitFor(new RegExp(`Registered service "?${DIRECT_SERVICE}`), READY_TIMEOUT_MS);
  const clientToken = await fx.token("client", { services: [DIRECT_SERVICE] });
  const owned = stack.move();
  return {
    relayPort: relay.port,
    metricsUrl,
    clientTokenPath: clientToken.path,
    relay: relay.process,
    [Symbol.asyncDispose]: () => owned.disposeAsync(),
  };
}

/** Part 1: fresh client processes, first byte over any path and over the verified direct path. */
async function timeFreshClients(
  lab: Lab,
  world: DirectWorld,
  options: BenchOptions,
  ctx: { signal: AbortSignal; log: (line: string) => void },
): Promise<DirectTtfbSample[]> {
  const { signal, log } = ctx;
  const samples: DirectTtfbSample[] = [];
  for (let rep = 1; rep <= options.ttfb; rep++) {
    const port = freeTcpPort();
    const config = await clientConfig(
      lab.fx,
      world.relayPort,
      { [`127.0.0.1:${port}`]: DIRECT_SERVICE },
      world.clientTokenPath,
      "direct = true",
    );
    const label = `fresh client with direct paths on port ${port}`;
    const start = await readCounters(world.metricsUrl, signal);
    const sample = await withFreshProcess(
      () => spawnClient(config, label),
      label,
      async (proc, startedAt): Promise<DirectTtfbSample> => {
        const first = await probeFirstByte(port, startedAt, signal);
        // Read while waiting for the line, so the reading delays the direct probe the least.
        const [afterFirst, up] = await Promise.all([
          readCounters(world.metricsUrl, signal),
          proc.waitFor(DIRECT_UP, DIRECT_UP_TIMEOUT_MS).then(() => performance.now() - startedAt),
        ]);
        const firstPath = delta(start, afterFirst).flows > 0 ? "relay" : "direct";
        const direct = firstPath === "direct"
          ? first
          : await probeFirstByte(port, startedAt, signal);
        const d = delta(afterFirst, await readCounters(world.metricsUrl, signal));
        if (d.flows > 0) {
          throw new Error(
            "Direct path not verified: the first flow opened after the client said its direct " +
              "path is up went through the relay",
          );
        }
        if (DIRECT_LOST.test(proc.output)) throw new Error("The direct path was lost");
        return {
          rep,
          ...first,
          firstPath,
          directUpMs: up,
          directFirstByteMs: direct.firstByteMs,
        };
      },
    );
    samples.push(sample);
    log(
      `direct TTFB ${rep}/${options.ttfb}: ${describeFirstByte(sample)} (via ` +
        `${sample.firstPath}); direct path up after ${sample.directUpMs.toFixed(0)} ms, first ` +
        `byte over it after ${sample.directFirstByteMs.toFixed(0)} ms`,
    );
  }
  return samples;
}

/** Runs `measure` on `path`, checked against the relay's counters; it resolves with bytes moved. */
async function checked<T extends { moved: number }>(
  path: DirectPathId,
  what: string,
  world: DirectWorld,
  ledger: RelayLedger,
  signal: AbortSignal,
  measure: () => Promise<T>,
): Promise<T & { relayed: RelayCounters }> {
  const before = await readCounters(world.metricsUrl, signal);
  const result = await measure();
  const relayed = delta(before, await readCounters(world.metricsUrl, signal));
  ledger.check(path, what, result.moved, relayed);
  return { ...result, relayed };
}

/** Starts a long-lived client of the service with `direct = true | false`, its own identity. */
async function startClient(
  lab: Lab,
  world: DirectWorld,
  port: number,
  direct: boolean,
): Promise<HelperProcess> {
  // Each its own identity, so the relay's per-identity path reports stay apart.
  const token = await lab.fx.token("client", { services: [DIRECT_SERVICE] });
  const config = await clientConfig(
    lab.fx,
    world.relayPort,
    { [`127.0.0.1:${port}`]: DIRECT_SERVICE },
    token.path,
    `direct = ${direct}`,
  );
  return spawnZtna("client", config, {
    name: `client-${direct ? "direct" : "relayed"}`,
    cpuProfDir: lab.options.cpuProfDir,
  });
}

/** Runs case 7. */
export async function runDirectCase(
  lab: Lab,
  options: BenchOptions,
  ctx: { signal: AbortSignal; log: (line: string) => void },
): Promise<DirectCase> {
  const { signal, log } = ctx;
  const pipePort = await lab.pipe();
  log("direct: starting a relay with public metrics and a connector with direct = true");
  await using world = await startWorld(lab);

  const ttfb = await timeFreshClients(lab, world, options, ctx);

  log("direct: starting a client with direct = true and one with direct = false");
  await using stack = new AsyncDisposableStack();
  const ports: Record<DirectPathId, number> = {
    direct: freeTcpPort(),
    relay: freeTcpPort(),
    pipe: pipePort,
  };
  const relayMark = world.relay.mark();
  const direct = stack.use(await startClient(lab, world, ports.direct, true));
  const relayed = stack.use(await startClient(lab, world, ports.relay, false));
  await direct.waitFor(DIRECT_UP, DIRECT_UP_TIMEOUT_MS);
  await relayed.waitFor(/Connected to relay/, READY_TIMEOUT_MS);
  await world.relay.waitFor(/now take the "?direct"? path/, READY_TIMEOUT_MS, relayMark);

  const ledger = new RelayLedger();
  log("direct: warm-up pass (not recorded; the relay's counters are checked)");
  for (const p of DIRECT_PATHS) {
    await checked(p.id, "warm-up", world, ledger, signal, async () => ({
      moved: await warmUp(ports[p.id], options, signal),
    }));
  }

  const runs: DirectRep[] = [];
  for (let rep = 1; rep <= options.reps; rep++) {
    for (const [position, p] of rotate(DIRECT_PATHS, rep - 1).entries()) {
      const m = await checked(p.id, `repetition ${rep}`, world, ledger, signal, async () => ({
        ...await singleFlow(ports[p.id], options, signal),
        moved: 2 * options.mib * MIB + roundTripBytes(options.rtts + options.warmup),
      }));
      if (DIRECT_LOST.test(direct.output)) {
        throw new Error(`The direct path was lost during the measurements\n${direct.output}`);
      }
      const run: DirectRep = {
        path: p.id,
        rep,
        position,
        upload: m.upload,
        download: m.download,
        roundTrips: m.roundTrips,
        relayedBytes: m.relayed.bytes,
        relayedFlows: m.relayed.flows,
      };
      runs.push(run);
      log(
        `direct rep ${rep}/${options.reps} ${p.label}: up ${run.upload.mbps.toFixed(0)}, down ` +
          `${run.download.mbps.toFixed(0)} Mbit/s; p50 ${run.roundTrips.p50Us.toFixed(0)} µs, ` +
          `p99 ${run.roundTrips.p99Us.toFixed(0)} µs; relay counted ${run.relayedFlows} flows, ` +
          `${run.relayedBytes} bytes`,
      );
    }
  }
  return { ...summarizeDirect(ttfb, runs), verified: ledger.totals() };
}

/** Summary and ratios of the samples and repetitions. */
export function summarizeDirect(
  ttfb: DirectTtfbSample[],
  runs: DirectRep[],
): Omit<DirectCase, "verified"> {
  const metrics = (id: DirectPathId) =>
    runs.filter((r) => r.path === id).map((r) => ({
      uploadMbps: r.upload.mbps,
      downloadMbps: r.download.mbps,
      p50Us: r.roundTrips.p50Us,
      p99Us: r.roundTrips.p99Us,
    }));
  const summary: DirectCase["summary"] = {};
  for (const p of DIRECT_PATHS) {
    const reps = metrics(p.id);
    if (reps.length > 0) summary[p.id] = spreadOf(reps, FLOW_METRICS);
  }
  const direct = metrics("direct");
  return {
    service: DIRECT_SERVICE,
    ttfb: {
      samples: ttfb,
      summary: spreadOf(
        ttfb.map((s) => ({ ...s, directLaterMs: s.directFirstByteMs - s.firstByteMs })),
        ["connectMs", "firstByteMs", "directUpMs", "directFirstByteMs", "directLaterMs"],
      ),
    },
    paths: [...DIRECT_PATHS],
    runs,
    summary,
    ratios: DIRECT_PATHS.filter((p) => p.id !== "direct").map((p) => ({
      baseline: p.id,
      ...pairedRatios(direct, metrics(p.id), FLOW_METRICS),
    })),
  };
}
