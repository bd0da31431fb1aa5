/**
 * Baseline: one direct Deno QUIC hop, the least that UDP over QUIC datagrams and a QUIC server
 * holding connections can cost, with no authentication, no flow ids and no relaying.
 *
 * - Server (`--mode=server`, run as its own process): listens on 127.0.0.1 with ALPN
 *   `ztna-bench-datagram`; on every connection it counts the probe datagrams of each run and answers
 *   queries about them (bench/udp_probe.ts) with a datagram, and on every bidirectional stream it
 *   reads one chunk and answers one byte, then leaves the stream open. That last part is the bare
 *   analogue of a ztna HELLO, for the handshake-rate and idle-memory baselines of the relay.
 * - Client ({@link DatagramHopClient}, imported by the bench): sends datagrams over one connection
 *   and asks the server for the counts.
 * - Middle (`--mode=middle --upstream=PORT --ca=F`, its own process): the two-hop datagram pipe, the
 *   like-for-like baseline of ztna's client → relay → connector. For each connection it accepts it
 *   opens one to the server on `upstream` and copies every datagram across, both ways, unchanged:
 *   no authentication, no flow table, no counters — only the send discipline ztna uses (a bounded
 *   queue per connection drained with a few sends in flight, src/transport/datagram_queue.ts),
 *   without which Deno's sendDatagram collapses under a flood.
 * - UDP entry and exit (`--mode=udp-entry`, `--mode=udp-exit`, each its own process): with a middle
 *   between them, the exact like-for-like of ztna's UDP path — UDP socket → QUIC datagram → middle
 *   → QUIC datagram → UDP socket, in ztna's topology (client, relay, connector). The entry reads
 *   one local UDP socket and sends every datagram, unchanged, over one connection to the middle;
 *   the exit accepts connections, opens one UDP socket per connection (the connector's per-flow
 *   socket) and sends every datagram to `--target`; replies go back the same way, to the entry's
 *   last local source. One flow, no authentication, no flow ids, no framing, no counters: only
 *   what ztna's two endpoints do per datagram — each socket read into one reused buffer, a copy of
 *   what is queued, one bounded queue per direction with ztna's depths.
 *
 * Usage: `deno run --config deno.json --allow-net --allow-read quic_datagram_hop.ts --mode=server
 * --cert=F --key=F [--max-streams=N]`; prints `Datagram hop listening on 127.0.0.1:<port>`. The
 * middle takes `--mode=middle --cert=F --key=F --ca=F --upstream=PORT` and prints the same line,
 * so does the exit with `--mode=udp-exit --cert=F --key=F --target=UDP_PORT`. The entry takes
 * `--mode=udp-entry --ca=F --upstream=PORT` (the middle) and prints
 * `UDP pipe entry listening on 127.0.0.1:<udp port>` once connected.
 * @module
 */
import { parseArgs } from "node:util";
import { decodeProbe, encodeQuery, ProbeCounter } from "../udp_probe.ts";
import { DatagramQueue } from "../../src/transport/datagram_queue.ts";

/** ALPN of the hop. */
export const ALPN_DATAGRAM_HOP = "ztna-bench-datagram";

/** Readiness line of the server, the middle and the UDP exit. */
export const READY = /Datagram hop listening on 127\.0\.0\.1:(\d+)/;

/** Readiness line of the UDP entry: its local UDP port. */
export const UDP_ENTRY_READY = /UDP pipe entry listening on 127\.0\.0\.1:(\d+)/;

/** What a query learned from a sink. */
export interface SinkCount {
  count: number;
  /** Microseconds from the first to the last probe of the run, at the sink. */
  spanUs: number;
}

/** Something the bench sends probe datagrams through and asks for counts. */
export interface ProbePath {
  /** Sends one datagram; resolves when it was handed to the network. */
  send(datagram: Uint8Array): Promise<void>;
  /** Asks the sink at the end of the path how many probes of `run` arrived. */
  query(run: number): Promise<SinkCount>;
  close(): void;
}

/** Queries go out at most this often per attempt and this many times: datagrams can be lost. */
const QUERY = { timeoutMs: 250, attempts: 12 } as const;

/** Waits for answers to queries; shared by the QUIC client and the UDP paths of the bench. */
export class QueryWaiter {
  readonly #waiting = new Map<number, (c: SinkCount) => void>();

  /** Feeds one received datagram; answers resolve their query, anything else is ignored. */
  receive(d: Uint8Array): void {
    const p = decodeProbe(d);
    if (p.kind !== "answer") return;
    this.#waiting.get(p.run)?.({ count: p.count, spanUs: p.spanUs });
  }

  /**
   * Sends the query for `run` with `send` until an answer arrives.
   * @throws {Error} when no answer came after every attempt
   */
  async ask(run: number, send: (query: Uint8Array) => Promise<void>): Promise<SinkCount> {
    try {
      for (let attempt = 0; attempt < QUERY.attempts; attempt++) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const answer = new Promise<SinkCount | undefined>((resolve) => {
          this.#waiting.set(run, resolve);
          timer = setTimeout(() => resolve(undefined), QUERY.timeoutMs);
        });
        await send(encodeQuery(run)).catch(() => {});
        const got = await answer.finally(() => clearTimeout(timer));
        if (got) return got;
      }
      throw new Error(`No answer from the sink about run ${run}`);
    } finally {
      this.#waiting.delete(run);
    }
  }
}

/** Options of {@link DatagramHopClient.connect}. */
export interface DatagramHopClientOptions {
  port: number;
  /** PEM of the CA that signed the server certificate (verified, server name "localhost"). */
  caCert: string;
}

/** Connects to a server with the hop's ALPN on 127.0.0.1 (the client, the middle, the entry). */
async function dialHop(port: number, caCert: string): Promise<Deno.QuicConn> {
  return await Deno.connectQuic({
    hostname: "127.0.0.1",
    port,
    serverName: "localhost",
    alpnProtocols: [ALPN_DATAGRAM_HOP],
    caCerts: [caCert],
    keepAliveInterval: 1_000,
    maxIdleTimeout: 30_000,
  });
}

/** Listens with the hop's ALPN on 127.0.0.1 and prints the readiness line. */
async function listenHop(
  certPath: string,
  keyPath: string,
  maxStreams?: number,
): Promise<Deno.QuicListener> {
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = endpoint.listen({
    alpnProtocols: [ALPN_DATAGRAM_HOP],
    cert: await Deno.readTextFile(certPath),
    key: await Deno.readTextFile(keyPath),
    maxIdleTimeout: 60_000,
    ...(maxStreams === undefined ? {} : {
      maxConcurrentBidirectionalStreams: maxStreams,
      maxConcurrentUnidirectionalStreams: 0,
    }),
  });
  console.log(`Datagram hop listening on 127.0.0.1:${endpoint.addr.port}`);
  return listener;
}

/** The client side of the hop: one QUIC connection. */
export class DatagramHopClient implements ProbePath {
  readonly #waiter = new QueryWaiter();
  private constructor(readonly conn: Deno.QuicConn) {
    void (async () => {
      while (true) this.#waiter.receive(await conn.readDatagram());
    })().catch(() => {/* connection closed */});
  }

  /** Connects to the server on 127.0.0.1. */
  static async connect(options: DatagramHopClientOptions): Promise<DatagramHopClient> {
    return new DatagramHopClient(await dialHop(options.port, options.caCert));
  }

  /** Largest datagram this connection carries now. */
  get maxDatagramSize(): number {
    return this.conn.maxDatagramSize;
  }

  send(datagram: Uint8Array): Promise<void> {
    return this.conn.sendDatagram(datagram);
  }

  query(run: number): Promise<SinkCount> {
    return this.#waiter.ask(run, (q) => this.conn.sendDatagram(q));
  }

  close(): void {
    try {
      this.conn.close({ closeCode: 0, reason: "done" });
    } catch { /* already closed */ }
  }
}

async function serveConnection(conn: Deno.QuicConn): Promise<void> {
  const counter = new ProbeCounter();
  void (async () => {
    for await (const stream of conn.incomingBidirectionalStreams) {
      void (async () => {
        const reader = stream.readable.getReader();
        const first = await reader.read();
        if (first.done) return;
        const writer = stream.writable.getWriter();
        await writer.write(Uint8Array.of(1));
        // Held open, like a ztna control stream after its WELCOME, until the peer goes away.
        while (!(await reader.read()).done) { /* ignore */ }
      })().catch(() => {});
    }
  })().catch(() => {});
  while (true) {
    const answer = counter.receive(await conn.readDatagram(), performance.now());
    if (answer) await conn.sendDatagram(answer).catch(() => {});
  }
}

/** Queue depth per direction in the middle: the relay's default `datagram_queue_depth`. */
const MIDDLE_QUEUE_DEPTH = 1_024;
/** Queue depth per direction at the UDP entry and exit: ztna's default `udp_queue_depth`. */
const UDP_QUEUE_DEPTH = 256;
/** Largest UDP payload (IPv4: 65,535 − 8 − 20): the reused receive buffer never truncates. */
const MAX_UDP_PAYLOAD = 65_507;

/**
 * Offers every datagram `receive` yields to one bounded queue drained by `send`, until `receive`
 * throws. `copy`: the datagram is a view of a reused buffer, so what is queued is copied (and
 * nothing is copied when the queue is full, as ztna checks before it encodes).
 */
async function forward(
  receive: () => Promise<Uint8Array>,
  send: (d: Uint8Array) => Promise<unknown>,
  depth: number,
  copy = false,
): Promise<void> {
  const queue = new DatagramQueue<Uint8Array>({ depth, send });
  while (true) {
    const d = await receive();
    if (!queue.full) queue.offer(copy ? d.slice() : d);
  }
}

/** Reads `socket` into one reused buffer; `onSource` sees each sender. */
function udpReceiver(
  socket: Deno.DatagramConn,
  onSource?: (from: Deno.NetAddr) => void,
): () => Promise<Uint8Array> {
  const buffer = new Uint8Array(MAX_UDP_PAYLOAD + 1);
  return async () => {
    const [data, from] = await socket.receive(buffer);
    onSource?.(from as Deno.NetAddr);
    return data;
  };
}

/** Closes everything given, ignoring what is already closed. */
function closeAll(...things: Array<Deno.QuicConn | Deno.DatagramConn>): void {
  for (const t of things) {
    try {
      if ("sendDatagram" in t) t.close({ closeCode: 0, reason: "done" });
      else t.close();
    } catch { /* already closed */ }
  }
}

async function runMiddle(
  certPath: string,
  keyPath: string,
  caPath: string,
  upstream: number,
): Promise<void> {
  const caCert = await Deno.readTextFile(caPath);
  const listener = await listenHop(certPath, keyPath);
  while (true) {
    const down = await listener.accept();
    void (async () => {
      const up = await dialHop(upstream, caCert);
      await Promise.race([
        forward(() => down.readDatagram(), (d) => up.sendDatagram(d), MIDDLE_QUEUE_DEPTH),
        forward(() => up.readDatagram(), (d) => down.sendDatagram(d), MIDDLE_QUEUE_DEPTH),
      ]).catch(() => {});
      closeAll(down, up);
    })().catch(() => {/* upstream unreachable */});
  }
}

/** The UDP entry: one local socket, one connection to the middle, until either ends. */
async function runUdpEntry(caPath: string, upstream: number): Promise<void> {
  const conn = await dialHop(upstream, await Deno.readTextFile(caPath));
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  console.log(`UDP pipe entry listening on 127.0.0.1:${(socket.addr as Deno.NetAddr).port}`);
  let source: Deno.NetAddr | undefined;
  await Promise.race([
    forward(
      udpReceiver(socket, (from) => source = from),
      (d) => conn.sendDatagram(d),
      UDP_QUEUE_DEPTH,
      true,
    ),
    forward(
      () => conn.readDatagram(),
      (d) => source ? socket.send(d, source) : Promise.resolve(),
      UDP_QUEUE_DEPTH,
    ),
  ]).catch(() => {});
  closeAll(conn, socket);
}

/** The UDP exit: per connection, one UDP socket that sends to `target` and reads its replies. */
async function runUdpExit(certPath: string, keyPath: string, target: number): Promise<void> {
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: target };
  const listener = await listenHop(certPath, keyPath);
  while (true) {
    const conn = await listener.accept();
    const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    void Promise.race([
      forward(() => conn.readDatagram(), (d) => socket.send(d, to), UDP_QUEUE_DEPTH),
      forward(udpReceiver(socket), (d) => conn.sendDatagram(d), UDP_QUEUE_DEPTH, true),
    ]).catch(() => {}).finally(() => closeAll(conn, socket));
  }
}

async function runServer(certPath: string, keyPath: string, maxStreams: number): Promise<void> {
  const listener = await listenHop(certPath, keyPath, maxStreams);
  while (true) {
    const conn = await listener.accept();
    void serveConnection(conn).catch(() => {/* connection closed */});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      mode: { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      ca: { type: "string" },
      upstream: { type: "string" },
      target: { type: "string" },
      "max-streams": { type: "string", default: "100" },
    },
    strict: true,
  });
  if (values.mode === "middle" && values.cert && values.key && values.ca && values.upstream) {
    await runMiddle(values.cert, values.key, values.ca, Number(values.upstream));
    Deno.exit(0);
  }
  if (values.mode === "udp-entry" && values.ca && values.upstream) {
    await runUdpEntry(values.ca, Number(values.upstream));
    Deno.exit(1); // the connection to the middle ended
  }
  if (values.mode === "udp-exit" && values.cert && values.key && values.target) {
    await runUdpExit(values.cert, values.key, Number(values.target));
    Deno.exit(0);
  }
  if (values.mode !== "server" || !values.cert || !values.key) {
    throw new RangeError(
      "Cannot start the datagram hop as it needs '--mode=server --cert=F --key=F' (or middle, " +
        "udp-entry, udp-exit with their flags, see the module documentation)",
    );
  }
  const maxStreams = Number(values["max-streams"]);
  if (!Number.isInteger(maxStreams) || maxStreams < 1) {
    throw new RangeError(
      `Cannot start the datagram hop as '--max-streams' must be a positive integer: current value is ${
        values["max-streams"]
      }`,
    );
  }
  await runServer(values.cert, values.key, maxStreams);
}
