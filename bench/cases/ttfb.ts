/**
 * Case 3: time to first byte for a new client process. Each sample starts a fresh process — `ztna
 * --role=client` with a one-forward config written beforehand, or `ssh -L` / `ssh -J` — and counts
 * from the spawn until the first byte of an echo answer arrives through its forward (the probe
 * retries the port every 5 ms until it accepts). Deno start-up, config loading, QUIC handshake,
 * HELLO and flow open on our side; ssh start-up, key exchange, authentication and channel open on
 * theirs. The process is stopped before the next sample; the order of the paths rotates.
 * @module
 */
import { freeTcpPort } from "../../tests/_helpers/cluster.ts";
import type { HelperProcess } from "../helper_process.ts";
import { type Lab, SERVICES } from "../lab.ts";
import { type FirstByte, firstResponseByte } from "../load.ts";
import type { BenchOptions } from "../options.ts";
import type { TtfbCase, TtfbPathId, TtfbSample } from "../results_schema.ts";
import { pairedRatio, spread } from "../stats.ts";
import { clientConfig, spawnClient } from "../ztna_nodes.ts";
import { rotate } from "./tcp.ts";

/** Paths in table order. */
export const TTFB_PATHS: ReadonlyArray<{ id: TtfbPathId; label: string }> = [
  { id: "ztna", label: "ztna: new `--role=client` process" },
  { id: "sshL", label: "new `ssh -L` process" },
  { id: "sshJ", label: "new `ssh -J` process" },
];

/** A fresh process has this long to answer. */
const FIRST_BYTE_TIMEOUT_MS = 30_000;

/**
 * Starts the clock, spawns a fresh process and runs `body` while it is up (the process is stopped
 * when `body` settles); a failure names `label` and carries the process's output.
 */
export async function withFreshProcess<T>(
  spawn: () => Promise<HelperProcess>,
  label: string,
  body: (proc: HelperProcess, startedAt: number) => Promise<T>,
): Promise<T> {
  const startedAt = performance.now();
  await using proc = await spawn();
  try {
    return await body(proc, startedAt);
  } catch (e) {
    throw new Error(`${label}: ${e instanceof Error ? e.message : e}\n${proc.output}`, {
      cause: e,
    });
  }
}

/** Probes `port` every 5 ms until it accepts, then times the first echo byte, from `startedAt`. */
export function probeFirstByte(
  port: number,
  startedAt: number,
  signal: AbortSignal,
): Promise<FirstByte> {
  return firstResponseByte(port, startedAt, {
    signal,
    timeoutMs: FIRST_BYTE_TIMEOUT_MS,
    retryMs: 5,
  });
}

/** A progress line's "accepting after …, first byte after …". */
export function describeFirstByte(first: FirstByte): string {
  return `accepting after ${first.connectMs.toFixed(0)} ms, first byte after ${
    first.firstByteMs.toFixed(0)
  } ms`;
}

/** Runs case 3. */
export async function runTtfbCase(
  lab: Lab,
  options: BenchOptions,
  ctx: { signal: AbortSignal; log: (line: string) => void },
): Promise<TtfbCase> {
  const { signal, log } = ctx;
  const ztna = await lab.ztna();
  const backend = await lab.backend();
  const ssh = await lab.ssh();
  /** Per path: prepares a sample (writes its config), resolving with the function that spawns. */
  const prepare: Partial<
    Record<TtfbPathId, (port: number) => Promise<() => Promise<HelperProcess>>>
  > = {
    ztna: async (port) => {
      const config = await clientConfig(
        lab.fx,
        ztna.relayPort,
        { [`127.0.0.1:${port}`]: SERVICES.tcp },
        ztna.clientTokenPath,
      );
      return () => spawnClient(config, `ttfb client on ${port}`);
    },
  };
  if (ssh) {
    prepare.sshL = (port) =>
      Promise.resolve(() => Promise.resolve(ssh.forward("direct", port, backend.tcpPort)));
    prepare.sshJ = (port) =>
      Promise.resolve(() => Promise.resolve(ssh.forward("jump", port, backend.tcpPort)));
  }
  const paths = TTFB_PATHS.filter((p) => prepare[p.id]);

  const samples: TtfbSample[] = [];
  for (let rep = 1; rep <= options.ttfb; rep++) {
    for (const p of rotate(paths, rep - 1)) {
      const ready = prepare[p.id];
      if (!ready) continue;
      const port = freeTcpPort();
      const spawn = await ready(port);
      const first = await withFreshProcess(
        spawn,
        p.label,
        (_, startedAt) => probeFirstByte(port, startedAt, signal),
      );
      samples.push({ path: p.id, rep, ...first });
      log(`TTFB ${rep}/${options.ttfb} ${p.label}: ${describeFirstByte(first)}`);
    }
  }
  return summarizeTtfb(paths, samples);
}

/** Summary and ratios of the samples. */
export function summarizeTtfb(
  paths: ReadonlyArray<{ id: TtfbPathId; label: string }>,
  samples: TtfbSample[],
): TtfbCase {
  const of = (id: TtfbPathId) => samples.filter((s) => s.path === id);
  const summary: TtfbCase["summary"] = {};
  for (const p of paths) {
    const s = of(p.id);
    summary[p.id] = {
      connectMs: spread(s.map((x) => x.connectMs)),
      firstByteMs: spread(s.map((x) => x.firstByteMs)),
    };
  }
  const ratios: TtfbCase["ratios"] = {};
  const ztna = of("ztna");
  for (const p of paths.filter((p) => p.id !== "ztna")) {
    const base = of(p.id);
    if (ztna.length > 0 && base.length === ztna.length) {
      ratios[p.id] = pairedRatio(ztna, base, "firstByteMs");
    }
  }
  return { paths: [...paths], samples, summary, ratios };
}
