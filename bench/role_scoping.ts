/**
 * What scoping each role's network permission costs (issue 19): two complete relayed paths on
 * loopback, side by side in one run, to the same bench backend. "scoped" is main.ts as shipped:
 * relay and client each run inside a Worker whose `net` is exactly their config (src/sandbox), the
 * main thread without `net`. "unscoped" runs the same relay and client code on the main thread
 * with the permission set's whole `net` (baselines/roles_unscoped.ts). Both use a shipped
 * connector (its own sandbox is case 6 of bench/run.ts) and a client with direct paths off, so
 * every byte crosses the relay. Per repetition each path in turn (order rotated): single-flow
 * upload, download and 64-byte round trips; RSS of relay and client once started, before traffic.
 *
 * Usage: `deno run -P=bench bench/role_scoping.ts [--reps N] [--mib N] [--rtts N]`; prints markdown.
 * @module
 */
import { parseArgs } from "node:util";
import { Fixture, freeTcpPort, freeUdpPort } from "../tests/_helpers/cluster.ts";
import { rotate, singleFlow, warmUp } from "./cases/tcp.ts";
import { denoScript, type HelperProcess } from "./helper_process.ts";
import { rssKiB } from "./proc_stats.ts";
import { percentile } from "./stats.ts";
import { clientConfig, connectorConfig, RELAY_ENV, spawnZtna } from "./ztna_nodes.ts";

const READY_MS = 30_000;
const PATHS = ["scoped", "unscoped"] as const;
type PathId = typeof PATHS[number];

const { values } = parseArgs({
  args: Deno.args,
  options: { reps: { type: "string" }, mib: { type: "string" }, rtts: { type: "string" } },
});
const options = {
  reps: Number(values.reps ?? 5),
  mib: Number(values.mib ?? 64),
  rtts: Number(values.rtts ?? 2_000),
  warmup: 200,
};

const median = (xs: number[]) => percentile(xs, 50);
const log = (line: string) => console.error(`[role-scoping] ${line}`);

await using fx = await Fixture.create("role-scoping");
const processes: HelperProcess[] = [];
const stop = new AbortController();
try {
  const backend = denoScript("bench/backend.ts", [], {
    name: "backend",
    flags: ["--allow-net=127.0.0.1"],
  });
  processes.push(backend);
  const backendPort = Number(
    (await backend.waitFor(/listening on 127\.0\.0\.1:(\d+)/, READY_MS))[1],
  );
  const connectorToken = (await fx.token("connector", { services: ["bench"] })).path;
  const clientToken = (await fx.token("client", { services: ["bench"] })).path;

  /** One relay + connector + client; the relay and client shipped or on the main thread. */
  const path = async (id: PathId) => {
    const relayPort = freeUdpPort();
    const relayConfig = await fx.config(`
[intermediate]
listen = "127.0.0.1:${relayPort}"
cert = "${fx.pki.certPath}"
key = "${fx.pki.keyPath}"
token_public_keys = ["${fx.signing.publicPath}"]
state_dir = "${fx.dir}/state-${id}"
[intermediate.admin]
enabled = false
`);
    const start = (role: "intermediate" | "client", config: string, env = {}) =>
      id === "scoped"
        ? spawnZtna(role, config, { name: `${role}-${id}`, env })
        : Promise.resolve(denoScript("bench/baselines/roles_unscoped.ts", [role, config], {
          name: `${role}-${id}`,
          flags: ["-P=ztna"],
          env,
        }));
    const relay = await start("intermediate", relayConfig, { ...RELAY_ENV });
    processes.push(relay);
    await relay.waitFor(/Relay listening on/, READY_MS);
    const connector = await spawnZtna(
      "connector",
      await connectorConfig(fx, relayPort, {
        bench: { backend: `127.0.0.1:${backendPort}`, protocol: "tcp" },
      }, connectorToken),
      { name: `connector-${id}` },
    );
    processes.push(connector);
    await connector.waitFor(/Registered service/, READY_MS);
    const local = freeTcpPort();
    const client = await start(
      "client",
      await clientConfig(
        fx,
        relayPort,
        { [`127.0.0.1:${local}`]: "bench" },
        clientToken,
        "direct = false",
      ),
    );
    processes.push(client);
    await client.waitFor(/Connected to relay/, READY_MS);
    await new Promise((r) => setTimeout(r, 500));
    const idle = { relay: await rssKiB(relay.pid), client: await rssKiB(client.pid) };
    await warmUp(local, options, stop.signal);
    return { local, idle };
  };

  const paths = { scoped: await path("scoped"), unscoped: await path("unscoped") };
  const runs: Array<{ id: PathId; rep: number; up: number; down: number; p50: number }> = [];
  for (let rep = 1; rep <= options.reps; rep++) {
    for (const id of rotate(PATHS, rep - 1)) {
      const m = await singleFlow(paths[id].local, options, stop.signal);
      runs.push({
        id,
        rep,
        up: m.upload.mbps,
        down: m.download.mbps,
        p50: m.roundTrips.p50Us,
      });
      log(
        `rep ${rep} ${id}: up ${m.upload.mbps.toFixed(0)}, down ${m.download.mbps.toFixed(0)} ` +
          `Mbit/s, p50 ${m.roundTrips.p50Us.toFixed(0)} µs`,
      );
    }
  }
  const of = (id: PathId, k: "up" | "down" | "p50") =>
    runs.filter((r) => r.id === id).map((r) => r[k]);
  const ratio = (k: "up" | "down" | "p50") => {
    const pairs = runs.filter((r) => r.id === "scoped").map((s) =>
      s[k] / runs.find((u) => u.id === "unscoped" && u.rep === s.rep)![k]
    );
    return `${median(pairs).toFixed(3)} (${Math.min(...pairs).toFixed(3)}–${
      Math.max(...pairs).toFixed(3)
    })`;
  };
  const mib = (kib: number | undefined) => kib === undefined ? "?" : (kib / 1024).toFixed(0);
  const row = (id: PathId, label: string) =>
    `| ${label} | ${median(of(id, "up")).toFixed(0)} | ${median(of(id, "down")).toFixed(0)} | ${
      median(of(id, "p50")).toFixed(0)
    } | ${mib(paths[id].idle.relay)} | ${mib(paths[id].idle.client)} |`;
  console.log([
    `Role scoping, ${options.reps} reps × ${options.mib} MiB each way, ${options.rtts} round trips ` +
    `(medians; Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores)`,
    "",
    "| path | upload Mbit/s | download Mbit/s | p50 RTT µs | relay idle RSS MiB | client idle RSS MiB |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    row("scoped", "relay and client in their `net`-scoped Worker (as shipped)"),
    row("unscoped", "same relay and client on the main thread (no scoping)"),
    "",
    `Scoped ÷ unscoped, paired per repetition: upload **${ratio("up")}**, download ` +
    `**${ratio("down")}**, p50 RTT ${ratio("p50")}.`,
  ].join("\n"));
} finally {
  stop.abort();
  await Promise.all(processes.map((p) => p.stop()));
}
