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
/** Connections the load opens at once (all its processes together). */
const CONCURRENCY = 32;
/** Idle clients per load process at most. */
const PER_PROCESS = 2_000;
/** After a step is reached, before the window: connections settle into keep-alive only. */
const SETTLE_MS = 4_000;
/** The reading window; with clients, at least one keep-alive period (20 s for the baseline). */
const WINDOW_MS = 8_000;
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
    const drops0 = (await udp()).rcvbufErrors;
    const read = async (loads: HelperProcess[], step: number, held: HoldLine) => {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const loadCpu = async () =>
        (await Promise.all(loads.map((l) => cpuMs(l.pid))))
          .reduce<number>((a, b) => a + (b ?? 0), 0);
      const before = await Promise.all([cpuMs(relay.pid), loadCpu(), udp()]);
      const t0 = performance.now();
      // At least one keep-alive period, or a window can fall between two rounds of keep-alives.
      const smoke = options.preset === "smoke";
      await new Promise((r) =>
        setTimeout(r, step === 0 || smoke ? windowMs : Math.max(windowMs, timers.keepaliveMs))
      );
      const after = await Promise.all([cpuMs(relay.pid), loadCpu(), udp()]);
      const seconds = (performance.now() - t0) / 1_000;
      const rss = await rssKiB(relay.pid);
      const [rb, lb, ub] = before;
      const [ra, la, ua] = after;
      if (rb === undefined || ra === undefined || rss === undefined) {
        throw new Error(`The ${series} relay exited at ${step} clients`);
      }
      let closed = 0;
      for (const load of loads) {
        const mark = load.mark();
        await load.sendLine("count");
        const m = await load.waitFor(/Closed (\{.*\})/, 10_000, mark);
        closed += ClosedLine.parse(JSON.parse(m[1])).closed;
      }
      const record: KeepaliveStep = {
        series,
        ...timers,
        step,
        loadProcesses: loads.length,
        opened: held.open,
        open: held.open - closed,
        closed,
        failed: held.failed,
        windowSeconds: seconds,
        relayCpuPercent: ((ra - rb) / 1_000 / seconds) * 100,
        loadCpuPercent: ((la - lb) / 1_000 / seconds) * 100,
        packetsPerSecond: (ua.inDatagrams - ub.inDatagrams) / seconds,
        sentPerSecond: (ua.outDatagrams - ub.outDatagrams) / seconds,
        rcvbufDrops: ua.rcvbufErrors - drops0,
        ...(ns ? { relaySocketDrops: await ns.socketDrops(port) } : {}),
        relayRssKiB: rss,
      };
      steps.push(record);
      log(
        `keep-alive ${series}, ${record.open} of ${step} clients alive (${closed} closed, ` +
          `${record.rcvbufDrops} receive-buffer drops, ${record.relaySocketDrops ?? "?"} at the ` +
          `relay): relay ` +
          `CPU ${record.relayCpuPercent.toFixed(1)} %, ${
            record.packetsPerSecond.toFixed(0)
          } packets/s`,
      );
    };
    await read([], 0, { open: 0, closed: 0, failed: 0 });
    // Several load processes: one Deno process runs its QUIC timers on its JS thread, and one
    // holding thousands of 1 s keep-alives while opening more misses some (its clients time out).
    const processes = Math.max(1, Math.ceil(Math.max(...options.keepaliveIdle) / PER_PROCESS));
    const share = (n: number) => Math.ceil(n / processes);
    await using stack = new AsyncDisposableStack();
    const loads = Array.from({ length: processes }, (_, i) =>
      stack.use(denoScript(
        "bench/relay_load.ts",
        [
          "--target=ztna",
          `--port=${port}`,
          `--ca=${fx.pki.caCertPath}`,
          `--token-file=${tokenPath}`,
          `--concurrency=${Math.max(1, Math.floor(CONCURRENCY / processes))}`,
          "--mode=idle",
          `--steps=${options.keepaliveIdle.map(share).join(",")}`,
          `--step-timeout-s=${STEP_TIMEOUT_MS / 1_000 - 30}`,
          `--keepalive-ms=${timers.keepaliveMs}`,
          `--idle-timeout-ms=${timers.dialerIdleTimeoutMs}`,
        ],
        {
          name: `keep-alive load ${i + 1} (${series})`,
          flags: ["--allow-net=127.0.0.1", `--allow-read=${fx.dir}`],
          stdin: "piped",
          ...(ns ? { wrapper: ns.wrapper } : {}),
        },
      )));
    for (const step of options.keepaliveIdle) {
      const lines = await Promise.all(loads.map(async (load) => {
        const m = await Promise.race([
          load.waitFor(new RegExp(`Holding (\\{"step":${share(step)},.*\\})`), STEP_TIMEOUT_MS),
          aborted(ctx.signal),
        ]);
        return HoldingLine.parse(JSON.parse(m[1]));
      }));
      const held = {
        open: lines.reduce((a, l) => a + l.open, 0),
        closed: 0,
        failed: lines.reduce((a, l) => a + l.failed, 0),
      };
      await read(loads, step, held);
      if (held.open < step) break; // the load could not reach it; later steps would not either
      await Promise.all(loads.map((l) => l.sendLine("next")));
    }
  }
  return { counter, steps, at10k: at10k(steps) };
}

type HoldLine = z.infer<typeof HoldingLine>;

/** Rejects when `signal` aborts: a wait of minutes for a load step ends with the run (Ctrl-C). */
export function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/**
 * Both series at {@link TARGET} clients: measured when a step held that many, else the cost above
 * the bare relay of the largest step where no client closed (a steady state: a step where clients
 * were timing out also pays for their deaths), scaled linearly per alive client (keep-alives are
 * per connection); the largest step at all when every step lost clients.
 */
export function at10k(steps: readonly KeepaliveStep[]): KeepaliveCase["at10k"] {
  const at = (series: KeepaliveSeriesId) => {
    const of = steps.filter((s) => s.series === series);
    const base = of.find((s) => s.step === 0);
    const largestOf = (list: KeepaliveStep[]) =>
      list.filter((s) => s.open > 0).reduce<KeepaliveStep | undefined>(
        (best, s) => (!best || s.open > best.open ? s : best),
        undefined,
      );
    const largest = largestOf(of.filter((s) => s.closed === 0)) ?? largestOf(of);
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
