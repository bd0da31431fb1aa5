/**
 * Starts everything a bench run measures, all on loopback and all up for the whole run so the
 * repetitions can interleave the paths: the bench backend, the three QUIC pipe processes, and a ztna
 * relay, connector and client started through the e2e fixture (dev PKI, signed tokens, TOML configs,
 * `deno run -P=ztna main.ts`, the shipped permission set). Disposal stops every process (SIGTERM,
 * then SIGKILL) and removes the temp folder, also when start-up fails halfway.
 * @module
 */
import { Fixture, freeTcpPort, freeUdpPort } from "../tests/_helpers/cluster.ts";
import { READY as PIPE_READY } from "./baselines/quic_pipe.ts";
import { ScriptProcess } from "./script_process.ts";
import type { PathId } from "./stats.ts";

/** The running paths: the TCP port a load generator connects to for each. */
export interface RunningPaths extends AsyncDisposable {
  ports: Record<PathId, number>;
}

/** Service id of the bench backend in the ztna configs. */
const SERVICE = "bench";

/** Seconds a helper gets to print its readiness line (Deno start-up on a busy 2-core machine). */
const READY_TIMEOUT_MS = 30_000;

async function readyPort(p: ScriptProcess, re: RegExp): Promise<number> {
  const m = await p.waitFor(re, READY_TIMEOUT_MS);
  return Number(m[1]);
}

/** Starts the backend and every path; `log` receives one line per step. */
export async function startPaths(log: (line: string) => void): Promise<RunningPaths> {
  await using stack = new AsyncDisposableStack();
  const loopback = "--allow-net=127.0.0.1";

  log("starting the bench backend");
  const backend = stack.use(
    new ScriptProcess("bench/backend.ts", [], { name: "backend", permissions: [loopback] }),
  );
  const backendPort = await readyPort(backend, /Bench backend listening on 127\.0\.0\.1:(\d+)/);

  log("starting ztna relay, connector and client");
  const fx = stack.use(await Fixture.create("bench"));
  const relayPort = freeUdpPort();
  await fx.relay(relayPort);
  await fx.connector(
    [relayPort],
    { [SERVICE]: `127.0.0.1:${backendPort}` },
    (await fx.token("connector", { services: [SERVICE] })).path,
  );
  const ztnaPort = freeTcpPort();
  await fx.client(
    [relayPort],
    { [`127.0.0.1:${ztnaPort}`]: SERVICE },
    (await fx.token("client", { services: [SERVICE] })).path,
  );

  log("starting the two-hop QUIC pipe");
  const pipe = (mode: string, args: string[]) =>
    stack.use(
      new ScriptProcess("bench/baselines/quic_pipe.ts", [`--mode=${mode}`, ...args], {
        name: `pipe ${mode}`,
        permissions: [loopback, `--allow-read=${fx.dir}`],
      }),
    );
  const mid = pipe("mid", [`--cert=${fx.pki.certPath}`, `--key=${fx.pki.keyPath}`]);
  const midPort = await readyPort(mid, PIPE_READY.mid);
  const exit = pipe("exit", [
    `--mid=${midPort}`,
    `--ca=${fx.pki.caCertPath}`,
    `--backend=${backendPort}`,
  ]);
  await exit.waitFor(PIPE_READY.exit, READY_TIMEOUT_MS);
  await mid.waitFor(PIPE_READY.exitAttached, READY_TIMEOUT_MS);
  const entry = pipe("entry", [`--mid=${midPort}`, `--ca=${fx.pki.caCertPath}`]);
  const pipePort = await readyPort(entry, PIPE_READY.entry);

  const running = stack.move();
  return {
    ports: { direct: backendPort, pipe: pipePort, ztna: ztnaPort },
    [Symbol.asyncDispose]: () => running.disposeAsync(),
  };
}
