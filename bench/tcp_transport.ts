/**
 * ztna over its TCP transport (TLS over TCP, one TLS connection per flow) against ztna over QUIC,
 * in the same run on loopback: one relay; a connector and a client per transport (`transport =
 * "quic"` and `transport = "tcp"`), each pair its own service to the same bench backend. Every
 * repetition measures both paths in turn (order alternating): 1-flow download and upload, 16-flow
 * download, and 64-byte round trips (p50, p99). Prints a markdown table with medians and the
 * TCP ÷ QUIC ratio of each repetition's pair.
 *
 * `deno run -P=bench bench/tcp_transport.ts [--reps=3] [--mib=256] [--rtts=5000]`
 * @module
 */
import { parseArgs } from "node:util";
import { Fixture, freeTcpPort, freeUdpPort } from "../tests/_helpers/cluster.ts";
import { denoScript } from "./helper_process.ts";
import { download, parallel, roundTrips, upload } from "./load.ts";
import { clientConfig, connectorConfig, spawnZtna, startRelay, UNLIMITED } from "./ztna_nodes.ts";

const READY_MS = 30_000;
const { values } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "3" },
    mib: { type: "string", default: "256" },
    rtts: { type: "string", default: "5000" },
  },
});
const reps = Number(values.reps);
const bytes = Number(values.mib) * 1024 * 1024;
const rtts = Number(values.rtts);

type Metric = "downMbps" | "upMbps" | "down16Mbps" | "p50Us" | "p99Us";
const METRICS: Metric[] = ["downMbps", "upMbps", "down16Mbps", "p50Us", "p99Us"];
type Path = "quic" | "tcp";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function percentile(xs: Float64Array, p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function measure(port: number, signal: AbortSignal): Promise<Record<Metric, number>> {
  const io = { signal, timeoutMs: 120_000 };
  const down = await download(port, bytes, io);
  const up = await upload(port, bytes, io);
  const down16 = await parallel("download", port, bytes, { ...io, flows: 16 });
  const rt = await roundTrips(port, { ...io, count: rtts, warmup: 500 });
  return {
    downMbps: down.mbps,
    upMbps: up.mbps,
    down16Mbps: down16.mbps,
    p50Us: percentile(rt, 50),
    p99Us: percentile(rt, 99),
  };
}

async function main(): Promise<void> {
  await using stack = new AsyncDisposableStack();
  const fx = stack.use(await Fixture.create("bench-tcp"));
  const signal = AbortSignal.timeout(30 * 60_000);
  const backendProc = stack.use(
    denoScript("bench/backend.ts", [], { name: "backend", flags: ["--allow-net=127.0.0.1"] }),
  );
  const m = await backendProc.waitFor(/Bench backend listening on 127\.0\.0\.1:(\d+)/, READY_MS);
  const backend = `127.0.0.1:${m[1]}`;
  const relayPort = freeUdpPort();
  stack.use(
    await startRelay(fx, {
      name: "main",
      port: relayPort,
      limits: UNLIMITED,
      idleTimeoutMs: 5_000,
    }),
  );
  const ports: Record<Path, number> = { quic: freeTcpPort(), tcp: freeTcpPort() };
  for (const path of ["quic", "tcp"] as const) {
    const service = `bench-${path}`;
    const extra = `transport = "${path}"`;
    const connector = stack.use(
      await spawnZtna(
        "connector",
        await connectorConfig(
          fx,
          relayPort,
          { [service]: { backend, protocol: "tcp" } },
          (await fx.token("connector", { services: [service] })).path,
          extra,
        ),
        { name: `connector-${path}` },
      ),
    );
    await connector.waitFor(/Registered service/, READY_MS);
    const client = stack.use(
      await spawnZtna(
        "client",
        await clientConfig(
          fx,
          relayPort,
          { [`127.0.0.1:${ports[path]}`]: service },
          (await fx.token("client", { services: [service] })).path,
          extra,
        ),
        { name: `client-${path}` },
      ),
    );
    await client.waitFor(new RegExp(`Connected to relay .* over ${path}`), READY_MS);
  }
  const samples: Record<Path, Record<Metric, number>[]> = { quic: [], tcp: [] };
  // Untimed warm-up pass on both paths (JIT, congestion windows, the connector's offers).
  for (const path of ["quic", "tcp"] as const) {
    await download(ports[path], 32 * 1024 * 1024, { signal, timeoutMs: 60_000 });
    await roundTrips(ports[path], { signal, timeoutMs: 60_000, count: 200, warmup: 100 });
  }
  for (let rep = 0; rep < reps; rep++) {
    const order: Path[] = rep % 2 === 0 ? ["quic", "tcp"] : ["tcp", "quic"];
    for (const path of order) {
      samples[path].push(await measure(ports[path], signal));
      console.error(`rep ${rep + 1} ${path}: ${JSON.stringify(samples[path].at(-1))}`);
    }
  }
  const lines = [
    `ztna over TCP vs over QUIC, loopback, ${reps} repetitions, ${values.mib} MiB transfers, ` +
    `${rtts} round trips of 64 bytes (medians; ratio = median of per-repetition TCP ÷ QUIC)`,
    "",
    "| metric | ztna over QUIC | ztna over TCP | TCP ÷ QUIC |",
    "| --- | ---: | ---: | ---: |",
  ];
  for (const metric of METRICS) {
    const q = samples.quic.map((s) => s[metric]);
    const t = samples.tcp.map((s) => s[metric]);
    const ratio = median(t.map((v, i) => v / q[i]));
    lines.push(
      `| ${metric} | ${median(q).toFixed(0)} | ${median(t).toFixed(0)} | ${ratio.toFixed(2)} |`,
    );
  }
  console.log(lines.join("\n"));
}

await main();
