/**
 * Case 9: what failure detection in seconds costs the relay (issue 15). One load process
 * (bench/relay_load.ts) holds N idle authenticated clients on a fresh relay, with the shipped
 * timers — dialers keep-alive every 1 s and ask for a 2.5 s idle timeout, the relay's own is 3 s
 * (docs/OPERATIONS.md, "Failure detection and recovery") — and, in the same run, the same N with
 * a 20 s keep-alive (60 s idle timeouts) as the baseline. At each N, over a window: the relay's CPU
 * time per second (/proc/<pid>/stat) and the UDP packets per second.
 *
 * Packets are counted by the kernel's UDP counters (/proc/net/snmp InDatagrams, OutDatagrams) of a
 * network namespace the case creates for relay and load alone (root; `ip netns`), so nothing else
 * on the machine's loopback is counted. Every packet of the namespace goes to or comes from the
 * relay, so InDatagrams per second is the relay's packets per second, both ways. Without root the
 * machine's counters are read instead, and the report says so.
 * @module
 */
import { z } from "zod";
import { freeUdpPort } from "../../tests/_helpers/cluster.ts";
import { denoScript, type HelperProcess } from "../helper_process.ts";
import type { Lab } from "../lab.ts";
import { SERVICES } from "../lab.ts";
import { hostUdp, Netns, type UdpCounters } from "../netns.ts";
import type { BenchOptions } from "../options.ts";
import { cpuMs, rssKiB } from "../proc_stats.ts";
import type { KeepaliveCase, KeepaliveSeriesId, KeepaliveStep } from "../results_schema.ts";
import { knownLimits, startRelay, UNLIMITED } from "../ztna_nodes.ts";

/** The timers of each series: dialer keep-alive and idle timeout, relay idle timeout. */
export const SERIES: Record<
  KeepaliveSeriesId,
  { keepaliveMs: number; dialerIdleTimeoutMs: number; relayIdleTimeoutMs: number }
> = {
  shipped: { keepaliveMs: 1_000, dialerIdleTimeoutMs: 2_500, relayIdleTimeoutMs: 3_000 },
  baseline: { keepaliveMs: 20_000, dialerIdleTimeoutMs: 60_000, relayIdleTimeoutMs: 60_000 },
};
/** Connections the load opens at once. */
const CONCURRENCY = 32;
/** After a step is reached, before the window: connections settle into keep-alive only. */
const SETTLE_MS = 2_000;
/** The reading window; at least two baseline keep-alives would need 40 s, so per-second rates. */
const WINDOW_MS = 5_000;
const SMOKE_WINDOW_MS = 1_000;
/** Time the load has to open one step. */
const STEP_TIMEOUT_MS = 150_000;
const TARGET = 10_000;

const HoldingLine = z.object({
  open: z.number().int().nonnegative(),
  closed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
});
const ClosedLine = z.object({ closed: z.number().int().nonnegative() });

/** Runs case 9. */
export async function runKeepaliveCase(
  lab: Lab,
  options: BenchOptions,
  ctx: { signal: AbortSignal; log: (line: string) => void },
): Promise<KeepaliveCase> {
  const { fx } = lab;
  const { log } = ctx;
  const tokenPath = (await fx.token("client", { services: [SERVICES.tcp] })).path;
  const windowMs = options.preset === "smoke" ? SMOKE_WINDOW_MS : WINDOW_MS;
  const steps: KeepaliveStep[] = [];
  await using ns = await Netns.create(`ztna-bench-ka-${Deno.pid}`);
  const counter = ns
    ? "UDP datagrams in a network namespace holding only relay and load (/proc/net/snmp)"
    : "UDP datagrams of the whole machine (/proc/net/snmp; not root, so no namespace: other " +
      "programs' loopback traffic is counted too)";
  const udp = (): Promise<UdpCounters> => ns ? ns.udp() : hostUdp();
  for (const series of ["shipped", "baseline"] as const) {
    const timers = SERIES[series];
    ctx.signal.throwIfAborted();
    log(`keep-alive: ${series} timers (${timers.keepaliveMs} ms), fresh relay`);
    const port = freeUdpPort();
    await using relay = await startRelay(fx, {
      name: `keepalive-${series}`,
      port,
      limits: knownLimits(UNLIMITED),
      idleTimeoutMs: timers.relayIdleTimeoutMs,
      ...(ns ? { wrapper: ns.wrapper } : {}),
    });
    const read = async (load: HelperProcess | undefined, step: number, held: HoldLine) => {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const before = await Promise.all([cpuMs(relay.pid), load ? cpuMs(load.pid) : 0, udp()]);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, windowMs));
      const after = await Promise.all([cpuMs(relay.pid), load ? cpuMs(load.pid) : 0, udp()]);
      const seconds = (performance.now() - t0) / 1_000;
      const rss = await rssKiB(relay.pid);
      const [rb, lb, ub] = before;
      const [ra, la, ua] = after;
      if (rb === undefined || ra === undefined || rss === undefined) {
        throw new Error(`The ${series} relay exited at ${step} clients`);
      }
      let closed = held.closed;
      if (load) {
        const mark = load.mark();
        await load.sendLine("count");
        const m = await load.waitFor(/Closed (\{.*\})/, 10_000, mark);
        closed = ClosedLine.parse(JSON.parse(m[1])).closed;
      }
      const record: KeepaliveStep = {
        series,
        ...timers,
        step,
        open: held.open,
        closed,
        failed: held.failed,
        windowSeconds: seconds,
        relayCpuPercent: ((ra - rb) / 1_000 / seconds) * 100,
        loadCpuPercent: (((la ?? 0) - (lb ?? 0)) / 1_000 / seconds) * 100,
        packetsPerSecond: (ua.inDatagrams - ub.inDatagrams) / seconds,
        sentPerSecond: (ua.outDatagrams - ub.outDatagrams) / seconds,
        relayRssKiB: rss,
      };
      steps.push(record);
      log(
        `keep-alive ${series}, ${held.open} of ${step} clients (${closed} closed): relay CPU ` +
          `${record.relayCpuPercent.toFixed(1)} %, ${record.packetsPerSecond.toFixed(0)} packets/s`,
      );
    };
    await read(undefined, 0, { open: 0, closed: 0, failed: 0 });
    await using load = denoScript(
      "bench/relay_load.ts",
      [
        "--target=ztna",
        `--port=${port}`,
        `--ca=${fx.pki.caCertPath}`,
        `--token-file=${tokenPath}`,
        `--concurrency=${CONCURRENCY}`,
        "--mode=idle",
        `--steps=${options.keepaliveIdle.join(",")}`,
        `--step-timeout-s=${STEP_TIMEOUT_MS / 1_000 - 30}`,
        `--keepalive-ms=${timers.keepaliveMs}`,
        `--idle-timeout-ms=${timers.dialerIdleTimeoutMs}`,
      ],
      {
        name: `keep-alive load (${series})`,
        flags: ["--allow-net=127.0.0.1", `--allow-read=${fx.dir}`],
        stdin: "piped",
        ...(ns ? { wrapper: ns.wrapper } : {}),
      },
    );
    for (const step of options.keepaliveIdle) {
      const m = await load.waitFor(
        new RegExp(`Holding (\\{"step":${step},.*\\})`),
        STEP_TIMEOUT_MS,
      );
      const held = HoldingLine.parse(JSON.parse(m[1]));
      await read(load, step, held);
      if (held.open < step) break; // the load could not reach it; later steps would not either
      await load.sendLine("next");
    }
  }
  return { counter, steps, at10k: at10k(steps) };
}

type HoldLine = z.infer<typeof HoldingLine>;

/**
 * Both series at {@link TARGET} clients: measured when a step held that many, else the largest
 * step's cost above the bare relay, scaled linearly per client (keep-alives are per connection).
 */
export function at10k(steps: readonly KeepaliveStep[]): KeepaliveCase["at10k"] {
  const at = (series: KeepaliveSeriesId) => {
    const of = steps.filter((s) => s.series === series);
    const base = of.find((s) => s.step === 0);
    const largest = of.filter((s) => s.open > 0).reduce<KeepaliveStep | undefined>(
      (best, s) => (!best || s.open > best.open ? s : best),
      undefined,
    );
    if (!base || !largest) throw new Error(`No ${series} keep-alive step was measured`);
    if (largest.open >= TARGET) {
      return { cpu: largest.relayCpuPercent, pps: largest.packetsPerSecond, extrapolated: false };
    }
    const scale = TARGET / largest.open;
    return {
      cpu: base.relayCpuPercent + (largest.relayCpuPercent - base.relayCpuPercent) * scale,
      pps: base.packetsPerSecond + (largest.packetsPerSecond - base.packetsPerSecond) * scale,
      extrapolated: true,
    };
  };
  const shipped = at("shipped");
  const baseline = at("baseline");
  return {
    relayCpuPercent: Math.max(0, shipped.cpu),
    packetsPerSecond: Math.max(0, shipped.pps),
    baselineCpuPercent: Math.max(0, baseline.cpu),
    baselinePacketsPerSecond: Math.max(0, baseline.pps),
    extrapolated: shipped.extrapolated || baseline.extrapolated,
  };
}
