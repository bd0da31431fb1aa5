/**
 * Case 10: real applications through each tunnel (issue 18), in one run: pgbench (select-only and
 * TPC-B-like, 8 clients) against a PostgreSQL server the case starts (tests/_helpers/postgres.ts;
 * TLS on every path, verified: `sslmode=verify-full`), and wrk (HTTP/1.1 keep-alive, 50
 * connections) against a small HTTP backend (bench/http_backend.ts) — directly, through ztna
 * (client forward → relay → connector), `ssh -L`, `ssh -J` and stunnel. Reported as ratios to
 * direct and to `ssh -J`. Each run lasts `--app-seconds`; the paths of one workload run one after
 * the other, so a busy machine shifts them alike. Without pgbench, wrk or the PostgreSQL server the
 * case is skipped, and the report says which is missing.
 * @module
 */
import { freeTcpPort } from "../../tests/_helpers/cluster.ts";
import { startPostgres } from "../../tests/_helpers/postgres.ts";
import { startStunnel } from "../baselines/stunnel.ts";
import { findProgram } from "../debian_tools.ts";
import { denoScript, HelperProcess } from "../helper_process.ts";
import { HTTP_READY } from "../http_backend.ts";
import type { Lab } from "../lab.ts";
import type { BenchOptions } from "../options.ts";
import type { AppPathId, AppRun, AppsCase, AppWorkload } from "../results_schema.ts";
import { clientConfig, connectorConfig, spawnZtna, UNLIMITED } from "../ztna_nodes.ts";

const PG_CLIENTS = 8;
const WRK_CONNECTIONS = 50;
const WRK_THREADS = 2;
const READY_TIMEOUT_MS = 30_000;

const LABELS: Record<AppPathId, string> = {
  direct: "direct",
  ztna: "ztna (client → relay → connector)",
  sshL: "ssh -L",
  sshJ: "ssh -J",
  stunnel: "stunnel",
};

/** Local ports of one path: PostgreSQL and HTTP. */
interface PathPorts {
  pg: number;
  http: number;
}

/** pgbench's figures from its report. */
export function parsePgbench(out: string): { tps: number; latencyMs: number; errors: number } {
  const tps = /^tps = ([\d.]+)/m.exec(out)?.[1];
  const latency = /^latency average = ([\d.]+) ms/m.exec(out)?.[1];
  if (!tps || !latency) throw new Error(`pgbench printed no tps or latency:\n${out}`);
  const failed = Number(/^number of failed transactions: (\d+)/m.exec(out)?.[1] ?? 0);
  return { tps: Number(tps), latencyMs: Number(latency), errors: failed };
}

/** A wrk duration (`512.00us`, `1.23ms`, `2.00s`, `1.5m`) in milliseconds. */
function wrkMs(value: string, unit: string): number {
  const factor: Record<string, number> = { us: 0.001, ms: 1, s: 1_000, m: 60_000 };
  return Number(value) * (factor[unit] ?? NaN);
}

/** wrk's figures from its `--latency` report. */
export function parseWrk(
  out: string,
): { tps: number; latencyMs: number; p99Ms: number; errors: number } {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out)?.[1];
  // wrk pads some values with a trailing space ("99%    1.37s ").
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  if (!rps || !p50 || !p99) throw new Error(`wrk printed no rate or latency:\n${out}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = non2xx + (socket ? socket.slice(1).reduce((s, n) => s + Number(n), 0) : 0);
  return {
    tps: Number(rps),
    latencyMs: wrkMs(p50[1], p50[2]),
    p99Ms: wrkMs(p99[1], p99[2]),
    errors,
  };
}

/** Runs a command to its end (bounded: killed after `timeoutMs`); its stdout and stderr. */
async function runTool(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<string> {
  const p = new HelperProcess(command, args, { name: command.split("/").pop() ?? command, env });
  const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
  const stop = () => p.kill("SIGKILL");
  signal.addEventListener("abort", stop, { once: true });
  try {
    const status = await p.done;
    signal.throwIfAborted();
    if (!status.success) throw new Error(`${args.join(" ")} failed:\n${p.output}`);
    return p.output;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", stop);
  }
}

/** Waits until an HTTP GET through `port` is answered. */
async function httpReady(port: number, what: string, signal: AbortSignal): Promise<void> {
  const until = Date.now() + READY_TIMEOUT_MS;
  while (true) {
    signal.throwIfAborted();
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch { /* not yet */ }
    if (Date.now() > until) throw new Error(`${what} never answered HTTP`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until a TCP connection to `port` is accepted (an ssh forward listens once logged in). */
async function tcpReady(port: number, what: string, signal: AbortSignal): Promise<void> {
  const until = Date.now() + READY_TIMEOUT_MS;
  while (true) {
    signal.throwIfAborted();
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch { /* not yet */ }
    if (Date.now() > until) throw new Error(`${what} never accepted a connection`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether Debian's PostgreSQL server binaries (initdb, what tests/_helpers/postgres.ts runs) exist. */
async function hasPostgresServer(): Promise<boolean> {
  try {
    for await (const v of Deno.readDir("/usr/lib/postgresql")) {
      const initdb = await Deno.stat(`/usr/lib/postgresql/${v.name}/bin/initdb`).catch(() => null);
      if (initdb?.isFile) return true;
    }
  } catch { /* no folder */ }
  return false;
}

/** Runs case 10; undefined (and a skip note) when pgbench, wrk or PostgreSQL is missing. */
export async function runAppsCase(
  lab: Lab,
  options: BenchOptions,
  ctx: { signal: AbortSignal; log: (line: string) => void },
): Promise<AppsCase | undefined> {
  const { fx } = lab;
  const { log, signal } = ctx;
  const [pgbench, wrk, postgres] = await Promise.all([
    findProgram("pgbench"),
    findProgram("wrk"),
    hasPostgresServer(),
  ]);
  if (!pgbench || !wrk || !postgres) {
    const missing = [!pgbench && "pgbench", !wrk && "wrk", !postgres && "the PostgreSQL server"]
      .filter(Boolean).join(", ");
    const why = `${missing} not installed (Debian packages postgresql and wrk)`;
    lab.skipped.push({ what: "case apps (real applications)", why });
    log(`skipping case apps: ${why}`);
    return undefined;
  }
  await using stack = new AsyncDisposableStack();
  log("apps: starting PostgreSQL and the HTTP backend");
  const pg = await startPostgres();
  stack.defer(() => pg.stop());
  await pg.createDatabase("bench");
  const httpBackend = stack.use(
    denoScript("bench/http_backend.ts", [], {
      name: "HTTP backend",
      flags: ["--allow-net=127.0.0.1"],
    }),
  );
  const httpPort = Number((await httpBackend.waitFor(HTTP_READY, READY_TIMEOUT_MS))[1]);
  const pgEnv = (port: number) => ({
    PGHOST: "127.0.0.1",
    PGPORT: String(port),
    PGUSER: "ztna",
    PGDATABASE: "bench",
    PGPASSWORD: pg.password,
    PGSSLMODE: "verify-full",
    PGSSLROOTCERT: pg.caPath,
  });
  await runTool(pgbench, ["-i", "-q", "-s", "1"], pgEnv(pg.port), 120_000, signal);

  const paths: Partial<Record<AppPathId, PathPorts>> = {
    direct: { pg: pg.port, http: httpPort },
  };
  // ztna: a relay, a connector serving both backends, a client forwarding both.
  log("apps: starting ztna relay, connector and client");
  const relay = stack.use(
    await lab.freshRelay("apps", { idleTimeoutMs: 5_000, limits: UNLIMITED }),
  );
  const services = ["app-pg", "app-http"];
  const connector = stack.use(
    await spawnZtna(
      "connector",
      await connectorConfig(fx, relay.port, {
        "app-pg": { backend: `127.0.0.1:${pg.port}`, protocol: "tcp" },
        "app-http": { backend: `127.0.0.1:${httpPort}`, protocol: "tcp" },
      }, (await fx.token("connector", { services })).path),
      { name: "apps connector" },
    ),
  );
  await connector.waitFor(/Registered service "?app-http/, READY_TIMEOUT_MS);
  const ztna = { pg: freeTcpPort(), http: freeTcpPort() };
  const client = stack.use(
    await spawnZtna(
      "client",
      await clientConfig(fx, relay.port, {
        [`127.0.0.1:${ztna.pg}`]: "app-pg",
        [`127.0.0.1:${ztna.http}`]: "app-http",
      }, (await fx.token("client", { services })).path),
      { name: "apps client" },
    ),
  );
  await client.waitFor(/Connected to relay/, READY_TIMEOUT_MS);
  paths.ztna = ztna;
  // ssh -L and ssh -J: one forward per backend and route.
  const ssh = await lab.ssh();
  if (ssh) {
    for (const [id, route] of [["sshL", "direct"], ["sshJ", "jump"]] as const) {
      const ports = { pg: freeTcpPort(), http: freeTcpPort() };
      stack.use(ssh.forward(route, ports.pg, pg.port));
      stack.use(ssh.forward(route, ports.http, httpPort));
      paths[id] = ports;
    }
  }
  const stunnelTool = lab.options.tools.stunnel;
  if ("stunnel" in stunnelTool) {
    const tunnel = async (name: string, backendPort: number) =>
      stack.use(
        await startStunnel(stunnelTool.stunnel, {
          dir: `${fx.dir}/stunnel-apps-${name}`,
          pki: fx.pki,
          backendPort,
        }),
      ).port;
    paths.stunnel = { pg: await tunnel("pg", pg.port), http: await tunnel("http", httpPort) };
  }
  const ids = (["direct", "ztna", "sshL", "sshJ", "stunnel"] as const).filter((id) => paths[id]);
  for (const id of ids) {
    await tcpReady(paths[id]!.pg, LABELS[id], signal);
    await httpReady(paths[id]!.http, LABELS[id], signal);
  }

  const seconds = options.appSeconds;
  const timeoutMs = seconds * 1_000 + 60_000;
  const runs: AppRun[] = [];
  const workloads: AppWorkload[] = ["pgSelect", "pgTpcb", "wrk"];
  for (const workload of workloads) {
    for (const id of ids) {
      signal.throwIfAborted();
      const ports = paths[id]!;
      let run: AppRun;
      if (workload === "wrk") {
        const out = await runTool(
          wrk,
          [
            `-t${WRK_THREADS}`,
            `-c${WRK_CONNECTIONS}`,
            `-d${seconds}s`,
            "--latency",
            `http://127.0.0.1:${ports.http}/`,
          ],
          {},
          timeoutMs,
          signal,
        );
        run = { path: id, workload, ...parseWrk(out) };
      } else {
        const out = await runTool(
          pgbench,
          [
            ...(workload === "pgSelect" ? ["-S"] : []),
            "-n",
            `-c${PG_CLIENTS}`,
            "-j2",
            `-T${seconds}`,
          ],
          pgEnv(ports.pg),
          timeoutMs,
          signal,
        );
        run = { path: id, workload, ...parsePgbench(out) };
      }
      runs.push(run);
      log(
        `apps ${workload} ${LABELS[id]}: ${run.tps.toFixed(0)}/s, ${
          run.latencyMs.toFixed(2)
        } ms (${run.errors} errors)`,
      );
    }
  }
  return {
    seconds,
    pgClients: PG_CLIENTS,
    wrkConnections: WRK_CONNECTIONS,
    paths: ids.map((id) => ({ id, label: LABELS[id] })),
    runs,
    ratios: appRatios(runs),
  };
}

/** Each path's run ÷ direct's and ÷ ssh -J's, per workload. */
export function appRatios(runs: readonly AppRun[]): AppsCase["ratios"] {
  const find = (w: AppWorkload, p: AppPathId) => runs.find((r) => r.workload === w && r.path === p);
  return runs.flatMap((r) => {
    const direct = find(r.workload, "direct");
    if (!direct) return [];
    const jump = find(r.workload, "sshJ");
    return [{
      workload: r.workload,
      path: r.path,
      tpsToDirect: r.tps / direct.tps,
      latencyToDirect: r.latencyMs / direct.latencyMs,
      ...(jump ? { tpsToSshJ: r.tps / jump.tps, latencyToSshJ: r.latencyMs / jump.latencyMs } : {}),
    }];
  });
}
