/**
 * What the relay's handshake limits buy against a QUIC Initial flood from spoofed sources, measured
 * in a network-namespace lab (tests/netns/_lab.ts). Deno 2.9.6 cannot send a stateless Retry (RFC
 * 9000 §8.1), so this is the known limit's measured effect. Run by hand as root (not part of
 * `deno task test`; without root it says why and exits 0):
 *
 * ```sh
 * sudo PATH=$(dirname $(tools/install-deno.sh)):$PATH deno run -A --config deno.json \
 *   bench/spoofed_flood.ts [--rates=250,1000,2500] [--seconds=12] [--single-source-rate=1000] \
 *   [--attempts=20] [--json=out.json] [--verbose]
 * ```
 *
 * Lab: the relay (shipped default limits and idle timeout) in `pub` at 198.18.0.1; an honest client
 * in `cliA` behind natA; the flooder in `natB`, sending from 198.18.64.0/20 (4,096 addresses made
 * local there by one `local` route, exempt from natB's masquerade; `pub` routes the range back to
 * natB, which drops everything the relay answers, so to the relay they are spoofed sources that
 * never reply). Kernel SNAT cannot stand in for the spoofer: with an address range it picks the
 * address by a hash of source and destination, so one flooder address maps to one address.
 *
 * Each scenario (no flood, then each rate from 4,096 sources, then one rate from a single source):
 * the flood runs `--seconds`; 1 s in, the honest client starts `--attempts` dials (handshake +
 * HELLO, 3 s bound each, 300 ms apart, none after the flood's last 1.5 s). Measured over the flood:
 * the relay's CPU (/proc), its peak RSS, and its /metrics deltas; after the flood the bench waits
 * the relay's idle timeout (+2 s) so handshakes started for spoofed sources time out and are
 * counted (`ztna_auth_failures_total{code="handshake_failed"}`) before the next scenario.
 * Prints a markdown table (docs/BENCHMARKS.md, "Spoofed-source handshake flood").
 * @module
 */
import { parseArgs } from "node:util";
import { Fixture } from "../tests/_helpers/cluster.ts";
import { REPO_ROOT } from "../tests/_helpers/ztna_process.ts";
import { LAB_ADDRESSES as ADDR, NatLab } from "../tests/netns/_lab.ts";
import { freeUdpPort } from "../src/demo/free_port.ts";
import { RelayLimits } from "../src/config/schema.ts";
import { RELAY_ENV } from "../src/relay/memory_tuning.ts";
import { cpuMs, rssKiB } from "./proc_stats.ts";
import { percentile } from "./stats.ts";
import type { FloodReport, HonestAttempt } from "./spoofed_flood_peers.ts";

const PEERS = new URL("./spoofed_flood_peers.ts", import.meta.url).pathname;
/** The spoofed range: 4,096 addresses, all inside 198.18.0.0/15 (RFC 2544, never routed). */
const SPOOF_NET = "198.18.64.0/20";
const SPOOF_BASE = "198.18.64.0";
const SPOOF_SOURCES = 4_096;
/** The relay's idle timeout when the config leaves it out: a handshake never finished lasts this. */
const RELAY_IDLE_TIMEOUT_MS = 15_000;
/** Longest flood the bench allows (the machine is shared). */
const MAX_SECONDS = 20;

/** One scenario's measurements. */
export interface FloodRow {
  label: string;
  rate: number;
  sources: number;
  sent: number;
  /** `ztna_rate_limited_total{limit="handshakes_total"}` delta: refused before any crypto. */
  refusedBeforeCrypto: number;
  /** `ztna_auth_failures_total{code="handshake_failed"}` delta, after the idle timeout. */
  handshakesTimedOut: number;
  /** UDP datagrams the relay's namespace received, and dropped for a full socket buffer. */
  udpIn: number;
  udpRcvbufErrors: number;
  /** `ztna_rate_limited_total{limit="handshakes_per_source"}` delta. */
  perSourceRefused: number;
  /** Relay CPU during the flood, in % of one core. */
  relayCpuPercent: number;
  /** Relay CPU from the flood's start until its handshakes timed out, in seconds. */
  relayCpuSeconds: number;
  relayRssPeakMiB: number;
  /** Relay RSS once the flood's handshakes timed out. */
  relayRssAfterMiB: number;
  honestOk: number;
  honestAttempts: number;
  honestP50Ms?: number;
  honestP90Ms?: number;
  honestFailures: string[];
  /** The flooder's pacing: p99 and largest gap between its send bursts (ms). */
  floodGapP99Ms?: number;
  floodGapMaxMs?: number;
}

function log(line: string): void {
  console.error(`[spoofed-flood ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Parses Prometheus text into `name{labels}` → value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.eE+-]+)$/.exec(line.trim());
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

async function must(lab: NatLab, role: "pub" | "natB", cmd: string[]): Promise<void> {
  const out = await lab.exec(role, cmd, { timeoutMs: 10_000 });
  if (out.code !== 0) {
    throw new Error(`Cannot prepare the flood lab: "${cmd.join(" ")}" in ${role}: ${out.stderr}`);
  }
}

/** Makes natB the home of the spoofed range and the black hole of every answer to it. */
async function addSpoofedRange(lab: NatLab): Promise<void> {
  await must(lab, "natB", ["ip", "route", "add", "local", SPOOF_NET, "dev", "lo"]);
  await must(lab, "natB", [
    "iptables",
    "-w",
    "-t",
    "nat",
    "-I",
    "POSTROUTING",
    "1",
    "-s",
    SPOOF_NET,
    "-j",
    "RETURN",
  ]);
  await must(lab, "natB", ["iptables", "-w", "-I", "INPUT", "1", "-d", SPOOF_NET, "-j", "DROP"]);
  await must(lab, "pub", ["ip", "route", "add", SPOOF_NET, "via", ADDR.natB]);
}

function peer(...args: string[]): string[] {
  return [
    Deno.execPath(),
    "run",
    "-A",
    "--unstable-net",
    "--config",
    `${REPO_ROOT}/deno.json`,
    PEERS,
    ...args,
  ];
}

function jsonAfter<T>(output: string, tag: string): T {
  const m = new RegExp(`^${tag} (.*)$`, "m").exec(output);
  if (!m) throw new Error(`Cannot find "${tag}" in:\n${output}`);
  return JSON.parse(m[1]) as T;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rates: { type: "string", default: "250,1000,2500" },
      seconds: { type: "string", default: "12" },
      "single-source-rate": { type: "string", default: "1000" },
      attempts: { type: "string", default: "20" },
      json: { type: "string" },
      verbose: { type: "boolean", default: false },
    },
  });
  const rates = values.rates.split(",").map(Number).filter((r) => r > 0);
  const seconds = Number(values.seconds);
  const singleRate = Number(values["single-source-rate"]);
  const attempts = Number(values.attempts);
  if (!(seconds >= 4 && seconds <= MAX_SECONDS)) {
    throw new RangeError(
      `Cannot run as '--seconds' must be 4 to ${MAX_SECONDS}: current value is ${seconds}`,
    );
  }

  const available = await NatLab.available();
  if (!available.ok) {
    console.log(`bench/spoofed_flood.ts skipped: ${available.why}`);
    return;
  }
  await using lab = await NatLab.create();
  await addSpoofedRange(lab);
  await using fx = await Fixture.create("spoofed-flood", { relayHost: ADDR.relay });
  const port = freeUdpPort();
  // Shipped limits and idle timeout: only what a test needs (state, admin metrics) is set.
  const config = await fx.config(`
[intermediate]
listen = "${ADDR.relay}:${port}"
cert = "${fx.pki.certPath}"
key = "${fx.pki.keyPath}"
token_public_keys = ["${fx.signing.publicPath}"]
state_dir = "${fx.dir}/state"
[intermediate.admin]
listen = "127.0.0.1:0"
metrics_public = true
`);
  const relay = fx.spawn(["--role=intermediate", "--config", config], "relay", {
    wrapper: lab.wrapper("pub"),
    env: { ...RELAY_ENV },
  });
  await relay.waitFor(/Relay listening on/, 30_000);
  const adminUrl = (await relay.waitFor(/Admin endpoint listening on "?(https?:\/\/[^"\s]+)/))[1];
  const token = await fx.token("client", { services: ["web"] });
  const limits = RelayLimits.parse({});
  log(
    `relay pid ${relay.pid} on ${ADDR.relay}:${port}; handshakes_per_second ${limits.handshakes_per_second}, per source ${limits.handshakes_per_second_per_source} (burst ${limits.handshake_burst_per_source})`,
  );

  const metrics = async () => {
    const out = await lab.exec("pub", ["curl", "-sS", "--max-time", "5", `${adminUrl}/metrics`]);
    if (out.code !== 0) throw new Error(`Cannot read the relay's metrics: ${out.stderr}`);
    return parseMetrics(out.stdout);
  };
  const udp = async () => {
    const out = await lab.exec("pub", ["cat", "/proc/net/snmp"]);
    const [head, vals] = out.stdout.split("\n").filter((l) => l.startsWith("Udp: "));
    const names = head.split(/\s+/);
    const nums = vals.split(/\s+/).map(Number);
    return (name: string) => nums[names.indexOf(name)];
  };
  const delta = (a: Map<string, number>, b: Map<string, number>, key: string) =>
    (b.get(key) ?? 0) - (a.get(key) ?? 0);

  const scenarios = [
    { label: "no flood", rate: 0, sources: 0 },
    ...rates.map((rate) => ({ label: `${rate}/s`, rate, sources: SPOOF_SOURCES })),
    ...(singleRate > 0
      ? [{ label: `${singleRate}/s, 1 source`, rate: singleRate, sources: 1 }]
      : []),
  ];
  const rows: FloodRow[] = [];
  for (const s of scenarios) {
    log(`scenario: ${s.label}`);
    const flooder = s.rate > 0
      ? lab.spawn(
        "natB",
        peer(
          "flood",
          `--target=${ADDR.relay}:${port}`,
          `--server-name=${ADDR.relay}`,
          `--rate=${s.rate}`,
          `--seconds=${seconds}`,
          `--sources=${s.sources}`,
          `--source-base=${SPOOF_BASE}`,
        ),
        { name: `flood ${s.label}` },
      )
      : undefined;
    if (flooder) await flooder.waitFor(/^Flooding$/m, 90_000);
    const m0 = await metrics();
    const u0 = await udp();
    const cpu0 = await cpuMs(relay.pid);
    const t0 = performance.now();
    let rssPeak = (await rssKiB(relay.pid)) ?? 0;
    let sampling = true;
    const sampler = (async () => {
      for (let tick = 0; sampling; tick++) {
        rssPeak = Math.max(rssPeak, (await rssKiB(relay.pid)) ?? 0);
        if (values.verbose && tick % 2 === 0) {
          const [m, u, c] = await Promise.all([metrics(), udp(), cpuMs(relay.pid)]);
          log(
            `  t=${((performance.now() - t0) / 1000).toFixed(1)}s refused ${
              delta(m0, m, 'ztna_rate_limited_total{limit="handshakes_total"}')
            } failed ${delta(m0, m, 'ztna_auth_failures_total{code="handshake_failed"}')} udp in ${
              u("InDatagrams") - u0("InDatagrams")
            } rcvbuf errors ${u("RcvbufErrors") - u0("RcvbufErrors")} cpu ms ${
              (c ?? 0) - (cpu0 ?? 0)
            }`,
          );
        }
        await sleep(500);
      }
    })();
    await sleep(1_000);
    const honest = lab.spawn(
      "cliA",
      peer(
        "honest",
        `--target=${ADDR.relay}:${port}`,
        `--server-name=${ADDR.relay}`,
        `--ca=${fx.pki.caCertPath}`,
        `--token-file=${token.path}`,
        `--attempts=${attempts}`,
        "--gap-ms=300",
        "--timeout-ms=3000",
        `--deadline-ms=${(seconds - 2.5) * 1000}`,
      ),
      { name: `honest ${s.label}` },
    );
    const honestOut = await honest.waitFor(/^Honest .*$/m, (seconds + 10) * 1000);
    let report: FloodReport | undefined;
    if (flooder) {
      await flooder.waitFor(/^Flooded /m, (seconds + 10) * 1000);
      report = jsonAfter<FloodReport>(flooder.output, "Flooded");
    } else {
      await sleep(Math.max(0, seconds * 1000 - (performance.now() - t0)));
    }
    const windowMs = performance.now() - t0;
    const cpu1 = await cpuMs(relay.pid);
    sampling = false;
    await sampler;
    const m1 = await metrics();
    const u1 = await udp();
    // Handshakes begun for spoofed sources end only at the idle timeout; wait so they are counted
    // here and not in the next scenario.
    await sleep(s.rate > 0 ? RELAY_IDLE_TIMEOUT_MS + 2_000 : 0);
    const m2 = await metrics();
    const cpu2 = await cpuMs(relay.pid);
    const rssAfter = (await rssKiB(relay.pid)) ?? 0;
    await flooder?.stop(2_000);
    await honest.stop(2_000);

    const results = jsonAfter<HonestAttempt[]>(honestOut[0], "Honest");
    const okMs = results.filter((r) => r.ok).map((r) => r.ms);
    rows.push({
      label: s.label,
      rate: s.rate,
      sources: s.sources,
      sent: report?.sent ?? 0,
      floodGapP99Ms: report?.gapP99Ms,
      floodGapMaxMs: report?.gapMaxMs,
      refusedBeforeCrypto: delta(m0, m1, 'ztna_rate_limited_total{limit="handshakes_total"}'),
      udpIn: u1("InDatagrams") - u0("InDatagrams"),
      udpRcvbufErrors: u1("RcvbufErrors") - u0("RcvbufErrors"),
      handshakesTimedOut: delta(m0, m2, 'ztna_auth_failures_total{code="handshake_failed"}'),
      perSourceRefused: delta(m0, m2, 'ztna_rate_limited_total{limit="handshakes_per_source"}'),
      relayCpuPercent: cpu0 !== undefined && cpu1 !== undefined
        ? (100 * (cpu1 - cpu0)) / windowMs
        : NaN,
      relayCpuSeconds: cpu0 !== undefined && cpu2 !== undefined ? (cpu2 - cpu0) / 1000 : NaN,
      relayRssPeakMiB: rssPeak / 1024,
      relayRssAfterMiB: rssAfter / 1024,
      honestOk: okMs.length,
      honestAttempts: results.length,
      honestP50Ms: okMs.length ? percentile(okMs, 50) : undefined,
      honestP90Ms: okMs.length ? percentile(okMs, 90) : undefined,
      honestFailures: [...new Set(results.filter((r) => !r.ok).map((r) => r.failure ?? "?"))],
    });
    log(JSON.stringify(rows.at(-1)));
  }
  await relay.stop(5_000);

  const n = (v: number | undefined, digits = 0) =>
    v === undefined || Number.isNaN(v)
      ? "—"
      : v.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const lines = [
    "| flood (Initials/s × s, sources) | reached the relay (kernel drops) | refused before crypto | handshakes begun (all timed out) | per-source refusals | relay CPU: % of a core during / s in total | relay RSS peak / after (MiB) | honest ok / attempts | honest p50 / p90 (ms) |",
    "| --- | --: | --: | --: | --: | --: | --: | --: | --: |",
    ...rows.map((r) =>
      [
        r.rate ? `${n(r.rate)} × ${seconds}, ${n(r.sources)}` : "none",
        `${n(r.udpIn)} (${n(r.udpRcvbufErrors)})`,
        n(r.refusedBeforeCrypto),
        n(r.handshakesTimedOut),
        n(r.perSourceRefused),
        `${n(r.relayCpuPercent)} / ${n(r.relayCpuSeconds, 1)}`,
        `${n(r.relayRssPeakMiB)} / ${n(r.relayRssAfterMiB)}`,
        `${r.honestOk} / ${r.honestAttempts}`,
        `${n(r.honestP50Ms)} / ${n(r.honestP90Ms)}`,
      ].join(" | ")
    ).map((line) => `| ${line} |`),
  ];
  console.log(lines.join("\n"));
  for (const r of rows) {
    if (r.honestFailures.length) {
      console.log(`${r.label}: honest failures: ${r.honestFailures.join("; ")}`);
    }
  }
  if (values.json) {
    await Deno.writeTextFile(
      values.json,
      JSON.stringify({ seconds, attempts, limits, rows }, null, 2),
    );
  }
}

if (import.meta.main) await main();
