/**
 * A TLS server built on `Deno.listenTls` against one built on `node:tls` (`createServer({ noDelay:
 * true })`), both in Deno, as an accept path for the relay's TCP transport (not part of
 * `deno task bench`):
 *
 * - Connections accepted by `Deno.listenTls` keep Nagle's algorithm on and cannot turn it off
 *   (`Deno.TlsConn` has no `setNoDelay`). A server that writes two small records back to back
 *   before the peer sends anything holds the second until the peer's delayed ACK: ~44 ms on
 *   loopback. `Deno.connectTls` has the same gap on the dialing side; our peers (and this client)
 *   dial with `Deno.connect`, `setNoDelay(true)` on the TcpConn, then `Deno.startTls`.
 * - The first answer on a fresh TLS 1.3 connection stalls the same way with `Deno.listenTls`, even
 *   a single write: the server sends its NewSessionTicket messages right after the handshake; when
 *   the client's request left before they arrived, nothing carries an ACK for them, and the
 *   client, with nothing more to send, delays its ACK (~40 ms); Nagle holds the server's first
 *   write until that ACK. It is a race (tickets arriving before the request leaves get their ACK
 *   on it): here most fresh connections stall, though in some series (mostly round 1, the client
 *   process still cold) under half. A connection that idled past the peer's delayed-ACK timer
 *   (~40 ms) after its handshake has the tickets acknowledged, and its first answer no longer
 *   stalls (0b).
 * - `node:tls` with `noDelay` sets TCP_NODELAY on what it accepts.
 *
 * Servers, each in its own process (as the relay is), forward bytes the way the relay does:
 * (a) `Deno.listenTls`, the conn's `readable` read through our `ChunkReader.nextReusing()` (one
 *     reused 64 KiB BYOB buffer) and its `writable`'s writer, each write awaited;
 * (b) `node:tls`, the socket's 'data' events and `write()`, respecting its return value and 'drain';
 * (b web) `node:tls` converted with `Duplex.toWeb(socket)` (what an adapter to the relay's
 *     stream-based splice would use), then the same code as (a).
 *
 * Measurements, client always `Deno.connect` + `setNoDelay(true)` + `Deno.startTls` on loopback:
 * 0. first answer on a fresh connection: 30 connections, each dialed, handshaken, then the client
 *    writes 5 B, the server reads them and 1 ms later writes 10 B once; the client times its write
 *    to the first byte back, then closes; after 1 unmeasured connection, p50/p99 in ms and how many
 *    took over 20 ms. 0b: the same, the client idle 100 ms between handshake and write. (The READY
 *    that `dial` waits for in 1–3 is such a first answer too; it is not timed.)
 * 1. write-write-read: client sends 5 B, the server answers with two 10 B writes, the client waits
 *    for all 20 B; 200 exchanges (after 5 unmeasured), p50/p99 in ms.
 * 2. round trip: 64 B each way, one write each; 2,000 exchanges (after 50 unmeasured), p50/p99 in µs.
 * 3. bulk: 256 MiB server→client, then client→server (until the server's 1-byte receipt); Mbit/s.
 * Every loop is capped in count and time (a capped run says so). Each measurement runs 3 times,
 * the servers' order alternating; the table gives medians and the ratios to (a).
 *
 * A throwaway self-signed certificate is made with `openssl` in a temp dir, removed at the end.
 *
 * Usage: `deno run -A bench/micro/tls_accept_nodelay.ts`
 * @module
 */
import tls from "node:tls";
import { Duplex } from "node:stream";
import { parseArgs } from "node:util";
import { ChunkReader } from "../../src/transport/chunk_reader.ts";

const WWR_COUNT = 200;
const WWR_WARMUP = 5;
const WWR_CAP_MS = 12_000;
const RTT_COUNT = 2_000;
const RTT_WARMUP = 50;
const RTT_SIZE = 64;
const RTT_CAP_MS = 5_000;
const BULK_BYTES = 256 * 1024 * 1024;
const BULK_CAP_MS = 8_000;
const CHUNK = 64 * 1024;
const ROUNDS = 3;
const FIRST_COUNT = 30;
const FIRST_WARMUP = 1;
/** A first answer slower than this waited for a delayed ACK. */
const STALL_MS = 20;
const FIRST_REQUEST = 5;
const FIRST_ANSWER = 10;
const FIRST_SERVER_DELAY_MS = 1;
const FIRST_IDLE_MS = 100;
const FIRST_CAP_MS = 10_000;
const FIRST_CONN_TIMEOUT_MS = 2_000;

/**
 * The first byte of each connection says what the server is to do; it answers READY, except to
 * CMD_FIRST (a 5-byte request answered once with 10 bytes).
 */
const CMD_FIRST = 0x30;
const CMD_WWR = 0x31;
const CMD_ECHO = 0x32;
const CMD_DOWN = 0x33;
const CMD_UP = 0x34;
const READY = 0x4b;

type Server = "deno" | "node" | "node-web";
const SERVERS: readonly Server[] = ["deno", "node", "node-web"];
const LABEL: Record<Server, string> = {
  "deno": "(a) Deno.listenTls",
  "node": "(b) node:tls noDelay",
  "node-web": "(b web) node:tls + Duplex.toWeb",
};

// ---------------------------------------------------------------- servers (child processes)

/** One connection served over web streams, as the relay's splice forwards: awaited writes. */
async function serveWeb(
  readable: ReadableStream<Uint8Array>,
  writable: WritableStream<Uint8Array>,
) {
  const from = new ChunkReader(readable);
  const to = writable.getWriter();
  try {
    if (!(await from.fill())) return;
    const cmd = from.buffered[0];
    if (cmd === CMD_FIRST) {
      while (from.buffered.byteLength < FIRST_REQUEST) if (!(await from.fill())) return;
      from.consume(from.buffered.byteLength);
      await sleep(FIRST_SERVER_DELAY_MS);
      await to.write(new Uint8Array(FIRST_ANSWER));
      await from.nextReusing(); // until the client closes
      return;
    }
    from.consume(1);
    await to.write(Uint8Array.of(READY));
    if (cmd === CMD_WWR) {
      let pending = 0;
      for (let c = await from.nextReusing(); c !== null; c = await from.nextReusing()) {
        for (pending += c.byteLength; pending >= 5; pending -= 5) {
          await to.write(new Uint8Array(10));
          await to.write(new Uint8Array(10));
        }
      }
    } else if (cmd === CMD_ECHO) {
      for (let c = await from.nextReusing(); c !== null; c = await from.nextReusing()) {
        await to.write(c);
      }
    } else if (cmd === CMD_DOWN) {
      const chunk = new Uint8Array(CHUNK);
      for (let sent = 0; sent < BULK_BYTES; sent += CHUNK) await to.write(chunk);
      await from.nextReusing(); // until the client closes
    } else if (cmd === CMD_UP) {
      let got = 0;
      for (let c = await from.nextReusing(); c !== null; c = await from.nextReusing()) {
        got += c.byteLength;
        if (got >= BULK_BYTES) {
          await to.write(Uint8Array.of(READY));
          break;
        }
      }
      await from.nextReusing();
    }
  } catch {
    /* the client went away */
  } finally {
    await to.close().catch(() => {});
    await from.cancel();
  }
}

async function denoServer(cert: string, key: string): Promise<void> {
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  console.log(`Listening on ${listener.addr.port}`);
  for await (const conn of listener) {
    serveWeb(conn.readable, conn.writable).finally(() => {
      try {
        conn.close();
      } catch { /* closed */ }
    });
  }
}

/** One connection served on the node socket's own events, with write backpressure. */
function serveNode(socket: tls.TLSSocket): void {
  socket.on("error", () => socket.destroy());
  let onData: ((chunk: Uint8Array) => void) | undefined;
  socket.on("data", (chunk: Uint8Array) => {
    if (onData) return onData(chunk);
    const cmd = chunk[0];
    if (cmd === CMD_FIRST) {
      let got = 0;
      onData = (c) => {
        const before = got;
        got += c.byteLength;
        if (before < FIRST_REQUEST && got >= FIRST_REQUEST) {
          setTimeout(() => socket.write(new Uint8Array(FIRST_ANSWER)), FIRST_SERVER_DELAY_MS);
        }
      };
      return onData(chunk);
    }
    socket.write(Uint8Array.of(READY));
    if (cmd === CMD_WWR) {
      let pending = 0;
      onData = (c) => {
        for (pending += c.byteLength; pending >= 5; pending -= 5) {
          socket.write(new Uint8Array(10));
          socket.write(new Uint8Array(10));
        }
      };
    } else if (cmd === CMD_ECHO) {
      onData = (c) => {
        socket.write(c);
      };
    } else if (cmd === CMD_DOWN) {
      onData = () => {};
      const buf = new Uint8Array(CHUNK);
      let sent = 0;
      const pump = () => {
        while (sent < BULK_BYTES && !socket.destroyed) {
          sent += CHUNK;
          if (!socket.write(buf)) return void socket.once("drain", pump);
        }
      };
      pump();
    } else if (cmd === CMD_UP) {
      let got = 0;
      onData = (c) => {
        const before = got;
        got += c.byteLength;
        if (before < BULK_BYTES && got >= BULK_BYTES) socket.write(Uint8Array.of(READY));
      };
    } else {
      return void socket.destroy();
    }
    if (chunk.byteLength > 1) onData(chunk.subarray(1));
  });
  socket.on("end", () => socket.end());
}

function nodeServer(cert: string, key: string, web: boolean): void {
  const server = tls.createServer({ cert, key, noDelay: true }, (socket) => {
    if (!web) return serveNode(socket);
    socket.on("error", () => socket.destroy());
    const { readable, writable } = Duplex.toWeb(socket);
    serveWeb(
      readable as ReadableStream<Uint8Array>,
      writable as WritableStream<Uint8Array>,
    ).finally(() => socket.destroy());
  });
  server.listen(0, "127.0.0.1", () => {
    console.log(`Listening on ${(server.address() as { port: number }).port}`);
  });
}

// ---------------------------------------------------------------- client (this process)

/** Reads from a conn through one 64 KiB buffer, counting bytes across reads. */
class Counted {
  #buf = new Uint8Array(CHUNK);
  #surplus = 0;
  constructor(readonly conn: Deno.Conn) {}

  /** Reads until `n` more bytes arrived; false if the stream ended or `until` passed first. */
  async take(n: number, until = Infinity): Promise<boolean> {
    let got = Math.min(this.#surplus, n);
    this.#surplus -= got;
    while (got < n) {
      if (performance.now() > until) return false;
      const r = await this.conn.read(this.#buf);
      if (r === null) return false;
      got += r;
    }
    this.#surplus += got - n;
    return true;
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.byteLength;) at += await conn.write(data.subarray(at));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Dials as our peers do: TCP, TCP_NODELAY on, then TLS; sends `cmd` and waits for READY. */
async function dial(port: number, caCert: string, cmd: number): Promise<Counted> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  tcp.setNoDelay(true);
  const conn = await Deno.startTls(tcp, { hostname: "localhost", caCerts: [caCert] });
  await conn.handshake();
  await writeAll(conn, Uint8Array.of(cmd));
  const reader = new Counted(conn);
  if (!(await reader.take(1, performance.now() + 10_000))) throw new Error("no READY");
  return reader;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

interface Run {
  firstP50: number;
  firstP99: number;
  firstStalled: number;
  idleP50: number;
  idleP99: number;
  idleStalled: number;
  wwrP50: number;
  wwrP99: number;
  rttP50: number;
  rttP99: number;
  down: number;
  up: number;
  notes: string[];
}

/** Times `count` exchanges (after `warmup`), each `send` then take `answer` bytes; in ms. */
async function exchanges(
  r: Counted,
  payload: Uint8Array,
  answer: number,
  warmup: number,
  count: number,
  capMs: number,
  what: string,
  notes: string[],
): Promise<number[]> {
  const until = performance.now() + capMs;
  const times: number[] = [];
  for (let i = 0; i < warmup + count; i++) {
    const t = performance.now();
    await writeAll(r.conn, payload);
    if (!(await r.take(answer, until))) {
      notes.push(`${what}: capped after ${times.length} of ${count}`);
      break;
    }
    if (i >= warmup) times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}

/**
 * Times the first answer on `FIRST_COUNT` fresh connections (after `FIRST_WARMUP` unmeasured), in
 * ms: dial, handshake, idle `idleMs`, write the request, until the first byte back. A connection
 * gets `FIRST_CONN_TIMEOUT_MS` in all (then it is closed and the series ends), the series
 * `FIRST_CAP_MS`.
 */
async function firstAnswers(
  port: number,
  caCert: string,
  idleMs: number,
  what: string,
  notes: string[],
): Promise<number[]> {
  const until = performance.now() + FIRST_CAP_MS;
  const times: number[] = [];
  const request = new Uint8Array(FIRST_REQUEST);
  request[0] = CMD_FIRST;
  for (let i = 0; i < FIRST_WARMUP + FIRST_COUNT; i++) {
    if (performance.now() > until) {
      notes.push(`${what}: capped after ${times.length} of ${FIRST_COUNT}`);
      break;
    }
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
    tcp.setNoDelay(true);
    const conn = await Deno.startTls(tcp, { hostname: "localhost", caCerts: [caCert] });
    const close = () => {
      try {
        conn.close();
      } catch { /* closed */ }
    };
    const watchdog = setTimeout(close, FIRST_CONN_TIMEOUT_MS);
    try {
      await conn.handshake();
      if (idleMs > 0) await sleep(idleMs);
      const r = new Counted(conn);
      const t = performance.now();
      await writeAll(conn, request);
      if (!(await r.take(1))) throw new Error("closed");
      if (i >= FIRST_WARMUP) times.push(performance.now() - t);
    } catch {
      notes.push(`${what}: connection ${i + 1} failed or timed out`);
      break;
    } finally {
      clearTimeout(watchdog);
      close();
    }
  }
  return times.sort((a, b) => a - b);
}

/** Mbit/s of `bytes` in `ms`. */
const mbits = (bytes: number, ms: number) => bytes * 8 / (ms / 1_000) / 1e6;

async function measure(port: number, caCert: string): Promise<Run> {
  const notes: string[] = [];
  const first = await firstAnswers(port, caCert, 0, "first", notes);
  const idle = await firstAnswers(port, caCert, FIRST_IDLE_MS, "first after idle", notes);

  let r = await dial(port, caCert, CMD_WWR);
  const wwr = await exchanges(
    r,
    new Uint8Array(5),
    20,
    WWR_WARMUP,
    WWR_COUNT,
    WWR_CAP_MS,
    "wwr",
    notes,
  );
  r.conn.close();

  r = await dial(port, caCert, CMD_ECHO);
  const payload = new Uint8Array(RTT_SIZE);
  const rtt = await exchanges(
    r,
    payload,
    RTT_SIZE,
    RTT_WARMUP,
    RTT_COUNT,
    RTT_CAP_MS,
    "rtt",
    notes,
  );
  r.conn.close();

  r = await dial(port, caCert, CMD_DOWN);
  let t = performance.now();
  let until = t + BULK_CAP_MS;
  let got = 0;
  while (got < BULK_BYTES && performance.now() < until) {
    if (!(await r.take(CHUNK, until))) break;
    got += CHUNK;
  }
  const down = mbits(got, performance.now() - t);
  if (got < BULK_BYTES) notes.push(`s→c: capped at ${(got / 2 ** 20).toFixed(0)} MiB`);
  r.conn.close();

  r = await dial(port, caCert, CMD_UP);
  const chunk = new Uint8Array(CHUNK);
  t = performance.now();
  until = t + BULK_CAP_MS;
  let sent = 0;
  while (sent < BULK_BYTES && performance.now() < until) {
    await writeAll(r.conn, chunk);
    sent += CHUNK;
  }
  const acked = sent >= BULK_BYTES && (await r.take(1, until + 2_000));
  const up = mbits(sent, performance.now() - t);
  if (!acked) {
    notes.push(`c→s: capped at ${(sent / 2 ** 20).toFixed(0)} MiB (rate is of bytes written)`);
  }
  r.conn.close();

  return {
    firstP50: percentile(first, 0.5),
    firstP99: percentile(first, 0.99),
    firstStalled: first.filter((t) => t > STALL_MS).length,
    idleP50: percentile(idle, 0.5),
    idleP99: percentile(idle, 0.99),
    idleStalled: idle.filter((t) => t > STALL_MS).length,
    wwrP50: percentile(wwr, 0.5),
    wwrP99: percentile(wwr, 0.99),
    rttP50: percentile(rtt, 0.5) * 1_000,
    rttP99: percentile(rtt, 0.99) * 1_000,
    down,
    up,
    notes,
  };
}

/** Starts a server process and returns its port and a way to end it. */
async function startServer(server: Server, dir: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      "--allow-net=127.0.0.1",
      `--allow-read=${dir}`,
      import.meta.filename ?? new URL(import.meta.url).pathname,
      `--mode=${server}`,
      `--cert=${dir}/cert.pem`,
      `--key=${dir}/key.pem`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const until = performance.now() + 15_000;
  while (!/Listening on (\d+)/.test(out)) {
    const timer = Promise.withResolvers<never>();
    const id = setTimeout(
      () => timer.reject(new Error(`${server} server did not start`)),
      until - performance.now(),
    );
    try {
      const { done, value } = await Promise.race([lines.read(), timer.promise]);
      if (done) throw new Error(`${server} server exited: ${out}`);
      out += value;
    } finally {
      clearTimeout(id);
    }
  }
  const port = Number(out.match(/Listening on (\d+)/)![1]);
  return {
    port,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await lines.cancel().catch(() => {});
      await child.status;
    },
  };
}

function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function loadavg(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  } catch {
    return Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(
    `deno ${Deno.version.deno} (v8 ${Deno.version.v8}), ${navigator.hardwareConcurrency} CPUs`,
  );
  console.log(`load average at start: ${await loadavg()}`);
  const dir = await Deno.makeTempDir({ prefix: "ztna-micro-tls-" });
  try {
    const made = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!made.success) throw new Error(`openssl: ${new TextDecoder().decode(made.stderr)}`);
    const caCert = await Deno.readTextFile(`${dir}/cert.pem`);

    const runs: Record<Server, Run[]> = { "deno": [], "node": [], "node-web": [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? SERVERS : [...SERVERS].reverse();
      for (const server of order) {
        const s = await startServer(server, dir);
        try {
          const run = await measure(s.port, caCert);
          runs[server].push(run);
          console.log(
            `round ${round + 1} ${server}: first p50/p99 ${run.firstP50.toFixed(1)}/${
              run.firstP99.toFixed(1)
            } ms (${run.firstStalled} stalled), after idle ${run.idleP50.toFixed(1)}/${
              run.idleP99.toFixed(1)
            } ms (${run.idleStalled} stalled), wwr p50/p99 ${run.wwrP50.toFixed(1)}/${
              run.wwrP99.toFixed(1)
            } ms, rtt p50/p99 ${run.rttP50.toFixed(0)}/${run.rttP99.toFixed(0)} µs, s→c ${
              run.down.toFixed(0)
            }, c→s ${run.up.toFixed(0)} Mbit/s${
              run.notes.length ? ` [${run.notes.join("; ")}]` : ""
            }`,
          );
        } finally {
          await s.stop();
        }
      }
    }

    const rows: [string, keyof Omit<Run, "notes">, number][] = [
      [`0. first answer on a fresh connection p50 (ms, ${FIRST_COUNT}×)`, "firstP50", 1],
      [`0. first answer on a fresh connection p99 (ms)`, "firstP99", 1],
      [`0. … stalled > ${STALL_MS} ms (of ${FIRST_COUNT})`, "firstStalled", 0],
      [`0b. first answer after ${FIRST_IDLE_MS} ms idle p50 (ms, ${FIRST_COUNT}×)`, "idleP50", 1],
      [`0b. first answer after ${FIRST_IDLE_MS} ms idle p99 (ms)`, "idleP99", 1],
      [`0b. … stalled > ${STALL_MS} ms (of ${FIRST_COUNT})`, "idleStalled", 0],
      [`1. write-write-read p50 (ms, ${WWR_COUNT}×)`, "wwrP50", 1],
      [`1. write-write-read p99 (ms)`, "wwrP99", 1],
      [`2. round trip ${RTT_SIZE} B p50 (µs, ${RTT_COUNT}×)`, "rttP50", 0],
      [`2. round trip ${RTT_SIZE} B p99 (µs)`, "rttP99", 0],
      [`3. bulk s→c ${BULK_BYTES / 2 ** 20} MiB (Mbit/s)`, "down", 0],
      [`3. bulk c→s ${BULK_BYTES / 2 ** 20} MiB (Mbit/s)`, "up", 0],
    ];
    const ratio = (b: number, a: number) => a === 0 ? (b === 0 ? "–" : "∞") : (b / a).toFixed(2);
    console.log(`\nMedians of ${ROUNDS} runs; client Deno.connect + setNoDelay + Deno.startTls:\n`);
    console.log(
      `| measurement | ${LABEL.deno} | ${LABEL.node} | (b)/(a) | ${
        LABEL["node-web"]
      } | (b web)/(a) |`,
    );
    console.log("|---|---:|---:|---:|---:|---:|");
    for (const [name, key, digits] of rows) {
      const [a, b, w] = SERVERS.map((s) => median(runs[s].map((r) => r[key])));
      console.log(
        `| ${name} | ${a.toFixed(digits)} | ${b.toFixed(digits)} | ${ratio(b, a)} | ${
          w.toFixed(digits)
        } | ${ratio(w, a)} |`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  console.log(
    `\nload average at end: ${await loadavg()}; took ${
      ((performance.now() - started) / 1_000).toFixed(1)
    } s`,
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { mode: { type: "string" }, cert: { type: "string" }, key: { type: "string" } },
  });
  if (values.mode === undefined) {
    await main();
  } else {
    if (!values.cert || !values.key) {
      throw new RangeError("Cannot start as --cert/--key are missing");
    }
    const cert = await Deno.readTextFile(values.cert);
    const key = await Deno.readTextFile(values.key);
    switch (values.mode) {
      case "deno":
        await denoServer(cert, key);
        break;
      case "node":
        nodeServer(cert, key, false);
        break;
      case "node-web":
        nodeServer(cert, key, true);
        break;
      default:
        throw new RangeError(
          `Cannot start as '--mode' is unknown: current value is ${values.mode}`,
        );
    }
  }
}
