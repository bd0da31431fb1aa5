/**
 * Baseline: the least a two-hop Deno QUIC tunnel can cost, "TCP → QUIC → pipe → QUIC → TCP", with no
 * authentication, no headers and no framing. Three processes mirror ztna's topology:
 *
 * - `--mode=mid` (the relay's place) listens for QUIC on 127.0.0.1. A connection's ALPN says what it
 *   is: `ztna-bench-exit` or `ztna-bench-entry` (the only "protocol" there is). For every stream an
 *   entry opens, mid opens a stream to the exit and pipes both ways.
 * - `--mode=exit` (the connector's place) dials mid and, for every stream mid opens to it, connects
 *   to the backend's TCP port and pipes both ways.
 * - `--mode=entry` (the client's place) dials mid, listens on TCP, and for every accepted connection
 *   opens a QUIC stream to mid and pipes both ways with `pipeTo`.
 *
 * A QUIC peer does not see a new stream until data is written on it: mid learns of an entry stream
 * only with the first chunk of client data, and the exit of mid's stream only when mid forwards that
 * chunk. This pipe therefore works only for client-speaks-first protocols, which is why every bench
 * connection starts with a preamble (bench_protocol.ts). ztna does not have this limit because its
 * streams open with a header.
 *
 * Mid accepts with `listener.accept()`: in Deno 2.9.6 reading `remoteAddr` on a `QuicIncoming`
 * breaks its `accept()`, so the incoming object is never touched.
 *
 * Usage:
 *   deno run --config deno.json --allow-net --allow-read quic_pipe.ts --mode=mid --cert=F --key=F
 *   … --mode=exit --mid=PORT --ca=F --backend=PORT
 *   … --mode=entry --mid=PORT --ca=F
 * Each prints one readiness line (see `READY` below) with the port it bound.
 * @module
 */
import { parseArgs } from "node:util";

/** ALPN of the exit's connection to mid. */
export const ALPN_EXIT = "ztna-bench-exit";
/** ALPN of the entry's connection to mid. */
export const ALPN_ENTRY = "ztna-bench-entry";

/** Readiness lines, matched by bench/run.ts. */
export const READY = {
  mid: /Pipe mid listening on 127\.0\.0\.1:(\d+)/,
  exitAttached: /Pipe mid attached an exit/,
  exit: /Pipe exit connected to mid/,
  entry: /Pipe entry listening on 127\.0\.0\.1:(\d+)/,
} as const;

/** Idle and keep-alive timers: the pipe must stay up while other paths are being measured. */
const TRANSPORT = { keepAliveInterval: 1_000, maxIdleTimeout: 30_000 } as const;

type Duplex = { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };

/** Pipes `a` and `b` into each other until both directions end; errors just end a direction. */
async function splice(a: Duplex, b: Duplex): Promise<void> {
  await Promise.all([
    a.readable.pipeTo(b.writable).catch(() => {}),
    b.readable.pipeTo(a.writable).catch(() => {}),
  ]);
}

function closeQuiet(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed by the pipe */ }
}

async function runMid(certPath: string, keyPath: string): Promise<void> {
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = endpoint.listen({
    alpnProtocols: [ALPN_EXIT, ALPN_ENTRY],
    cert: await Deno.readTextFile(certPath),
    key: await Deno.readTextFile(keyPath),
    ...TRANSPORT,
  });
  console.log(`Pipe mid listening on 127.0.0.1:${endpoint.addr.port}`);
  let exit: Deno.QuicConn | undefined;
  while (true) {
    const conn = await listener.accept();
    if (conn.protocol === ALPN_EXIT) {
      exit = conn;
      console.log("Pipe mid attached an exit");
      continue;
    }
    void (async () => {
      for await (const stream of conn.incomingBidirectionalStreams) {
        if (!exit) {
          await stream.readable.cancel().catch(() => {});
          await stream.writable.abort().catch(() => {});
          continue;
        }
        const onward = exit.createBidirectionalStream({ waitUntilAvailable: true });
        void onward.then(
          (out) => splice(stream, out),
          () => stream.writable.abort().catch(() => {}),
        );
      }
    })().catch(() => {});
  }
}

async function runExit(midPort: number, caPath: string, backendPort: number): Promise<void> {
  const conn = await Deno.connectQuic({
    hostname: "127.0.0.1",
    port: midPort,
    serverName: "localhost",
    alpnProtocols: [ALPN_EXIT],
    caCerts: [await Deno.readTextFile(caPath)],
    ...TRANSPORT,
  });
  console.log("Pipe exit connected to mid");
  for await (const stream of conn.incomingBidirectionalStreams) {
    void (async () => {
      const tcp = await Deno.connect({
        hostname: "127.0.0.1",
        port: backendPort,
        transport: "tcp",
      });
      tcp.setNoDelay(true);
      await splice(stream, tcp);
      closeQuiet(tcp);
    })().catch(() => stream.writable.abort().catch(() => {}));
  }
}

async function runEntry(midPort: number, caPath: string): Promise<void> {
  const conn = await Deno.connectQuic({
    hostname: "127.0.0.1",
    port: midPort,
    serverName: "localhost",
    alpnProtocols: [ALPN_ENTRY],
    caCerts: [await Deno.readTextFile(caPath)],
    ...TRANSPORT,
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, transport: "tcp" });
  console.log(`Pipe entry listening on 127.0.0.1:${listener.addr.port}`);
  for await (const tcp of listener) {
    tcp.setNoDelay(true);
    void (async () => {
      const stream = await conn.createBidirectionalStream({ waitUntilAvailable: true });
      await splice(tcp, stream);
    })().catch(() => {}).finally(() => closeQuiet(tcp));
  }
}

function port(value: string | undefined, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) {
    throw new RangeError(
      `Cannot start the QUIC pipe as '--${name}' must be a port number: current value is ${value}`,
    );
  }
  return n;
}

function required(value: string | undefined, name: string): string {
  if (!value) throw new RangeError(`Cannot start the QUIC pipe as '--${name}' is missing`);
  return value;
}

if (import.meta.main) {
  // Exit normally on SIGTERM so `--cpu-prof` (bench --cpu-prof) writes its profile.
  for (const s of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(s, () => Deno.exit(0));
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      mode: { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      ca: { type: "string" },
      mid: { type: "string" },
      backend: { type: "string" },
    },
    strict: true,
  });
  switch (values.mode) {
    case "mid":
      await runMid(required(values.cert, "cert"), required(values.key, "key"));
      break;
    case "exit":
      await runExit(
        port(values.mid, "mid"),
        required(values.ca, "ca"),
        port(values.backend, "backend"),
      );
      break;
    case "entry":
      await runEntry(port(values.mid, "mid"), required(values.ca, "ca"));
      break;
    default:
      throw new RangeError(
        `Cannot start the QUIC pipe as '--mode' must be mid, exit or entry: current value is ${values.mode}`,
      );
  }
}
