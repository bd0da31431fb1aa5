/**
 * Case 8: recovery after `kill -9` (issue 15), with the shipped keep-alive, idle timeouts, backoff
 * and waits on every process: the time from the kill to the first new connection that succeeds,
 * and how many new connections failed meanwhile, over several runs of each scenario —
 * - `poolMember`: one of two connectors of a service killed under a stream of new connections;
 * - `poolMemberStopped`: the same with SIGSTOP instead: its socket stays open and swallows
 *   packets, as a crashed host or a cut link would — on loopback a killed process's port answers
 *   ICMP "port unreachable", which a peer may act on at once;
 * - `onlyConnector`: the only connector of a service killed and restarted at once (as a
 *   supervisor would);
 * - `relay`: the relay killed and restarted on its port at once; client and connectors re-home.
 *
 * Every connection is one HTTP request on a fresh TCP connection through the client's forward (a
 * new flow each). The processes are the real binary (tests/_helpers/cluster.ts `Fixture`, the
 * same as tests/e2e/crash_recovery_test.ts, which checks the bounds in CI; this case measures).
 * @module
 */
import {
  backendBehind,
  freeTcpPort,
  freeUdpPort,
  httpBackend,
} from "../../tests/_helpers/cluster.ts";
import type { ZtnaProcess } from "../../tests/_helpers/ztna_process.ts";
import type { Lab } from "../lab.ts";
import type { BenchOptions } from "../options.ts";
import { type RecoveryCase, type RecoveryRun, RecoveryScenarioId } from "../results_schema.ts";
import { spread } from "../stats.ts";

const SHIPPED = { shippedTimers: true } as const;
/** Pause between connection attempts of one worker. */
const PAUSE_MS = 20;
/** How long the stream runs after a pool member's kill (its retry acts within ~1 s). */
const POOL_WINDOW_MS = 5_000;
/** After a restart: the stream runs until this long after the first success (or the bound). */
const AFTER_SUCCESS_MS = 1_000;
/** Bound of a restart scenario's stream: past it, the run reports what it saw. */
const RESTART_BOUND_MS = 20_000;
/** Bound of waiting for a pool of two to answer from both members again. */
const WARM_BOUND_MS = 15_000;

/** One new connection: start and end (ms since the kill), and whether it was answered. */
interface Probe {
  startMs: number;
  endMs: number;
  answer?: string;
}

/**
 * Opens new connections through `local` from `workers` loops until `stop()` (checked after each)
 * says so, or `boundMs` passes; times are relative to `t0()`, read when each probe ends.
 */
async function connectionStream(
  local: number,
  options: { workers: number; stop: (p: Probe[]) => boolean; boundMs: number; t0: () => number },
): Promise<Probe[]> {
  const probes: Probe[] = [];
  const until = performance.now() + options.boundMs;
  await Promise.all(Array.from({ length: options.workers }, async () => {
    while (!options.stop(probes) && performance.now() < until) {
      const started = performance.now();
      let answer: string | undefined;
      try {
        answer = await backendBehind(local);
      } catch { /* counted as failed */ }
      const t0 = options.t0();
      probes.push({ startMs: started - t0, endMs: performance.now() - t0, answer });
      await new Promise((r) => setTimeout(r, PAUSE_MS));
    }
  }));
  return probes.sort((a, b) => a.startMs - b.startMs);
}

/** The figures of one run from the connections started after the kill (time 0). */
function measureRun(
  scenario: RecoveryScenarioId,
  run: number,
  all: Probe[],
  expected: string,
): RecoveryRun {
  const probes = all.filter((p) => p.startMs >= 0);
  const ok = probes.filter((p) => p.answer === expected);
  const failed = probes.filter((p) => p.answer === undefined);
  if (ok.length === 0) {
    throw new Error(`Recovery ${scenario} run ${run}: no connection succeeded after the kill`);
  }
  const record: RecoveryRun = {
    scenario,
    run,
    firstSuccessMs: Math.min(...ok.map((p) => p.endMs)),
    attempts: probes.length,
    failed: failed.length,
    slowestMs: Math.max(...probes.map((p) => p.endMs - p.startMs)),
  };
  if (failed.length > 0) record.lastFailureMs = Math.max(...failed.map((p) => p.startMs));
  return record;
}

/** Runs case 8. */
export async function runRecoveryCase(
  lab: Lab,
  options: BenchOptions,
  ctx: { signal: AbortSignal; log: (line: string) => void },
): Promise<RecoveryCase> {
  const { fx } = lab;
  const { log, signal } = ctx;
  const a = httpBackend("A");
  const b = httpBackend("B");
  const solo = httpBackend("S");
  const runs: RecoveryRun[] = [];
  try {
    const relayPort = freeUdpPort();
    let relay = await fx.relay(relayPort);
    const token = (await fx.token("connector", { services: ["web", "solo"] })).path;
    const webA = { web: `127.0.0.1:${a.port}` };
    const soloSvc = { solo: `127.0.0.1:${solo.port}` };
    let connA: ZtnaProcess = await fx.connector([relayPort], webA, token, SHIPPED);
    await fx.connector([relayPort], { web: `127.0.0.1:${b.port}` }, token, SHIPPED);
    let connS: ZtnaProcess = await fx.connector([relayPort], soloSvc, token, SHIPPED);
    const webPort = freeTcpPort();
    const soloPort = freeTcpPort();
    await fx.client(
      [relayPort],
      { [`127.0.0.1:${webPort}`]: "web", [`127.0.0.1:${soloPort}`]: "solo" },
      (await fx.token("client", { services: ["web", "solo"] })).path,
      SHIPPED,
    );
    // Both members answer, and the last few connections all succeeded: the pool is whole.
    const whole = (p: Probe[]) =>
      p.length >= 6 && p.slice(-6).every((x) => x.answer) &&
      p.some((x) => x.answer === "A") && p.some((x) => x.answer === "B");
    const bothAnswer = async () => {
      const probes = await connectionStream(webPort, {
        workers: 2,
        stop: whole,
        boundMs: WARM_BOUND_MS,
        t0: () => 0,
      });
      if (!whole(probes)) {
        const seen = probes.slice(-12).map((x) => x.answer ?? "failed").join(" ");
        throw new Error(`The pool of two never answered from both members: ${seen}`);
      }
    };

    // (a) One of two connectors killed (or stopped) under a stream of new connections.
    const pool = ["poolMember", "poolMemberStopped"] as const;
    for (let i = 0; i < options.recoveryRuns * pool.length; i++) {
      const scenario = pool[i % pool.length];
      const run = Math.floor(i / pool.length) + 1;
      signal.throwIfAborted();
      await bothAnswer();
      let killedAt = Infinity;
      const stream = connectionStream(webPort, {
        workers: 4,
        stop: () => performance.now() > killedAt + POOL_WINDOW_MS,
        boundMs: POOL_WINDOW_MS + 5_000,
        t0: () => killedAt,
      });
      await new Promise((r) => setTimeout(r, 300));
      connA.kill(scenario === "poolMember" ? "SIGKILL" : "SIGSTOP");
      killedAt = performance.now();
      const r = measureRun(scenario, run, await stream, "B");
      runs.push(r);
      log(describe(r));
      connA.kill("SIGKILL");
      await connA.done;
      connA = await fx.connector([relayPort], webA, token, SHIPPED);
    }

    // (b) The only connector killed and restarted at once.
    for (let run = 1; run <= options.recoveryRuns; run++) {
      signal.throwIfAborted();
      if (await backendBehind(soloPort) !== "S") throw new Error("solo did not answer");
      connS.kill("SIGKILL");
      const killedAt = performance.now();
      await connS.done;
      const restarting = fx.connector([relayPort], soloSvc, token, { ...SHIPPED, wait: null });
      const r = measureRun("onlyConnector", run, await untilRecovered(soloPort, killedAt), "S");
      connS = await restarting;
      await connS.waitFor(/Registered service/);
      runs.push(r);
      log(describe(r));
    }

    // (c) The relay killed and restarted at once; client and connectors re-home.
    for (let run = 1; run <= options.recoveryRuns; run++) {
      signal.throwIfAborted();
      if (await backendBehind(soloPort) !== "S") throw new Error("solo did not answer");
      relay.kill("SIGKILL");
      const killedAt = performance.now();
      await relay.done;
      const restarting = fx.relay(relayPort);
      const r = measureRun("relay", run, await untilRecovered(soloPort, killedAt), "S");
      relay = await restarting;
      runs.push(r);
      log(describe(r));
    }
  } finally {
    await Promise.all([a.shutdown(), b.shutdown(), solo.shutdown()]);
  }
  const of = (s: RecoveryScenarioId) => runs.filter((r) => r.scenario === s);
  const summary: RecoveryCase["summary"] = {};
  for (const s of RecoveryScenarioId.options) {
    const rs = of(s);
    if (rs.length === 0) continue;
    summary[s] = {
      firstSuccessMs: spread(rs.map((r) => r.firstSuccessMs)),
      failed: spread(rs.map((r) => r.failed)),
      slowestMs: spread(rs.map((r) => r.slowestMs)),
    };
  }
  return { runs, summary };
}

/** A stream of new connections from the kill until one second after the first success. */
function untilRecovered(port: number, killedAt: number): Promise<Probe[]> {
  return connectionStream(port, {
    workers: 2,
    stop: (p) => {
      const first = p.find((x) => x.answer);
      return first !== undefined && performance.now() - killedAt > first.endMs + AFTER_SUCCESS_MS;
    },
    boundMs: RESTART_BOUND_MS,
    t0: () => killedAt,
  });
}

function describe(r: RecoveryRun): string {
  return `recovery ${r.scenario} run ${r.run}: first success ${r.firstSuccessMs.toFixed(0)} ms ` +
    `after the kill, ${r.failed} of ${r.attempts} failed, slowest ${r.slowestMs.toFixed(0)} ms`;
}
