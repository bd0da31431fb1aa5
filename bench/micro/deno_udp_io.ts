/**
 * Two micro-benchmarks of Deno's own UDP and QUIC-datagram I/O, behind the analysis of the UDP case
 * in docs/BENCHMARKS.md (not part of `deno task bench`):
 *
 * 1. `Deno.DatagramConn.receive()` with and without a caller's buffer: without one, Deno allocates
 *    a fresh 64 KiB buffer for every datagram.
 * 2. `Deno.QuicConn.sendDatagram()` with 1, 4, 8 … 1,024 sends in flight at once (each awaited, a window
 *    of outstanding promises): how many 1,000-byte datagrams a second reach the peer.
 *
 * Each receiver is its own process; senders send 50,000 datagrams of 1,000 bytes; the receiver
 * counts for 4 s and prints its count and rate (first to last arrival).
 *
 * Usage: `deno run -P=bench bench/micro/deno_udp_io.ts`
 * @module
 */
import { parseArgs } from "node:util";
import { generateDevPki } from "../../src/pki/dev_pki.ts";
import { denoScript } from "../helper_process.ts";

const COUNT = 50_000;
const SIZE = 1_000;
const COUNT_FOR_MS = 4_000;
const ALPN = "ztna-bench-micro";

/** Counts what arrives for COUNT_FOR_MS after the first datagram, then prints and exits. */
function counter(): (n: number) => void {
  let n = 0;
  let first = 0;
  let last = 0;
  return (at: number) => {
    if (n++ === 0) {
      first = at;
      setTimeout(() => {
        console.log(`Received ${n} rate ${Math.round((n - 1) / ((last - first) / 1_000))}`);
        Deno.exit(0);
      }, COUNT_FOR_MS);
    }
    last = at;
  };
}

async function udpReceiver(withBuffer: boolean): Promise<void> {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  console.log(`Listening on ${(socket.addr as Deno.NetAddr).port}`);
  const count = counter();
  const buf = withBuffer ? new Uint8Array(2_048) : undefined;
  while (true) {
    await socket.receive(buf);
    count(performance.now());
  }
}

async function quicReceiver(cert: string, key: string): Promise<void> {
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = endpoint.listen({
    alpnProtocols: [ALPN],
    cert: await Deno.readTextFile(cert),
    key: await Deno.readTextFile(key),
  });
  console.log(`Listening on ${endpoint.addr.port}`);
  const conn = await listener.accept();
  const count = counter();
  while (true) {
    await conn.readDatagram();
    count(performance.now());
  }
}

/** Sends COUNT datagrams with at most `window` sends in flight; resolves with the offered rate. */
async function sendWindowed(send: () => Promise<unknown>, window: number): Promise<number> {
  const inFlight = new Set<Promise<unknown>>();
  const start = performance.now();
  for (let i = 0; i < COUNT; i++) {
    const p: Promise<unknown> = send().catch(() => {}).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= window) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return Math.round(COUNT / ((performance.now() - start) / 1_000));
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ztna-micro-" });
  try {
    const pki = await generateDevPki({ outDir: dir });
    const receiver = async (args: string[]) => {
      const p = denoScript("bench/micro/deno_udp_io.ts", args, {
        name: `receiver ${args.join(" ")}`,
        flags: ["--allow-net=127.0.0.1", `--allow-read=${dir}`],
      });
      const port = Number((await p.waitFor(/Listening on (\d+)/))[1]);
      return { p, port };
    };
    console.log(`1. DatagramConn.receive(), ${COUNT} × ${SIZE} B sent as fast as possible`);
    for (const mode of ["udp-receiver-alloc", "udp-receiver-buffer"]) {
      const { p, port } = await receiver([`--mode=${mode}`]);
      await using _ = p;
      const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
      const offered = await sendWindowed(() => socket.send(new Uint8Array(SIZE), to), 1);
      const got = await p.waitFor(/Received (\d+) rate (\d+)/, COUNT_FOR_MS + 30_000);
      socket.close();
      console.log(`   ${mode}: offered ${offered}/s, received ${got[1]}, ${got[2]}/s`);
    }
    console.log(`2. QuicConn.sendDatagram(), ${COUNT} × ${SIZE} B, by sends in flight`);
    for (const window of [1, 4, 8, 16, 64, 256, 1_024]) {
      const { p, port } = await receiver([
        "--mode=quic-receiver",
        `--cert=${pki.certPath}`,
        `--key=${pki.keyPath}`,
      ]);
      await using _ = p;
      const conn = await Deno.connectQuic({
        hostname: "127.0.0.1",
        port,
        serverName: "localhost",
        alpnProtocols: [ALPN],
        caCerts: [await Deno.readTextFile(pki.caCertPath)],
      });
      const offered = await sendWindowed(() => conn.sendDatagram(new Uint8Array(SIZE)), window);
      const got = await p.waitFor(/Received (\d+) rate (\d+)/, COUNT_FOR_MS + 30_000);
      conn.close();
      console.log(`   ${window} in flight: offered ${offered}/s, received ${got[1]}, ${got[2]}/s`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { mode: { type: "string" }, cert: { type: "string" }, key: { type: "string" } },
  });
  switch (values.mode) {
    case undefined:
      await main();
      break;
    case "udp-receiver-alloc":
      await udpReceiver(false);
      break;
    case "udp-receiver-buffer":
      await udpReceiver(true);
      break;
    case "quic-receiver":
      if (!values.cert || !values.key) {
        throw new RangeError("Cannot start as --cert/--key are missing");
      }
      await quicReceiver(values.cert, values.key);
      break;
    default:
      throw new RangeError(`Cannot start as '--mode' is unknown: current value is ${values.mode}`);
  }
}
