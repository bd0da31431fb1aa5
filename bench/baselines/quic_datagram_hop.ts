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
 *
 * Usage: `deno run --config deno.json --allow-net --allow-read quic_datagram_hop.ts --mode=server
 * --cert=F --key=F [--max-streams=N]`; prints `Datagram hop listening on 127.0.0.1:<port>`. The
 * middle takes `--mode=middle --cert=F --key=F --ca=F --upstream=PORT` and prints the same line.
 * @module
 */
import { parseArgs } from "node:util";
import { decodeProbe, encodeQuery, ProbeCounter } from "../udp_probe.ts";
import { DatagramQueue } from "../../src/transport/datagram_queue.ts";

/** ALPN of the hop. */
export const ALPN_DATAGRAM_HOP = "ztna-bench-datagram";

/** Readiness line of the server. */
export const READY = /Datagram hop listening on 127\.0\.0\.1:(\d+)/;

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
    const conn = await Deno.connectQuic({
      hostname: "127.0.0.1",
      port: options.port,
      serverName: "localhost",
      alpnProtocols: [ALPN_DATAGRAM_HOP],
      caCerts: [options.caCert],
      keepAliveInterval: 1_000,
      maxIdleTimeout: 30_000,
    });
    return new DatagramHopClient(conn);
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

/** Copies datagrams from `from` to `to` until either connection ends. */
async function copyDatagrams(from: Deno.QuicConn, to: Deno.QuicConn): Promise<void> {
  const queue = new DatagramQueue<Uint8Array>({
    depth: MIDDLE_QUEUE_DEPTH,
    send: (d) => to.sendDatagram(d),
  });
  while (true) queue.offer(await from.readDatagram());
}

async function runMiddle(
  certPath: string,
  keyPath: string,
  caPath: string,
  upstream: number,
): Promise<void> {
  const caCert = await Deno.readTextFile(caPath);
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = endpoint.listen({
    alpnProtocols: [ALPN_DATAGRAM_HOP],
    cert: await Deno.readTextFile(certPath),
    key: await Deno.readTextFile(keyPath),
    maxIdleTimeout: 60_000,
  });
  console.log(`Datagram hop listening on 127.0.0.1:${endpoint.addr.port}`);
  while (true) {
    const down = await listener.accept();
    void (async () => {
      const up = await Deno.connectQuic({
        hostname: "127.0.0.1",
        port: upstream,
        serverName: "localhost",
        alpnProtocols: [ALPN_DATAGRAM_HOP],
        caCerts: [caCert],
        keepAliveInterval: 1_000,
        maxIdleTimeout: 30_000,
      });
      await Promise.race([copyDatagrams(down, up), copyDatagrams(up, down)]).catch(() => {});
      for (const c of [down, up]) {
        try {
          c.close({ closeCode: 0, reason: "done" });
        } catch { /* already closed */ }
      }
    })().catch(() => {/* upstream unreachable */});
  }
}

async function runServer(certPath: string, keyPath: string, maxStreams: number): Promise<void> {
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = endpoint.listen({
    alpnProtocols: [ALPN_DATAGRAM_HOP],
    cert: await Deno.readTextFile(certPath),
    key: await Deno.readTextFile(keyPath),
    maxIdleTimeout: 60_000,
    maxConcurrentBidirectionalStreams: maxStreams,
    maxConcurrentUnidirectionalStreams: 0,
  });
  console.log(`Datagram hop listening on 127.0.0.1:${endpoint.addr.port}`);
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
      "max-streams": { type: "string", default: "100" },
    },
    strict: true,
  });
  if (values.mode === "middle" && values.cert && values.key && values.ca && values.upstream) {
    await runMiddle(values.cert, values.key, values.ca, Number(values.upstream));
    Deno.exit(0);
  }
  if (values.mode !== "server" || !values.cert || !values.key) {
    throw new RangeError(
      "Cannot start the datagram hop as it needs '--mode=server --cert=F --key=F'",
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
