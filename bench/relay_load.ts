/**
 * Load process of the relay-capacity case: many QUIC connections from one process, all sharing one
 * `Deno.QuicEndpoint` (one UDP socket; without it each `Deno.connectQuic` binds its own).
 *
 * Targets:
 * - `ztna`: a relay; each connection is `dialRelay` + `helloRelay` (src/transport/dial.ts) with a
 *   valid client token — TLS handshake, control stream, HELLO, token check, WELCOME.
 * - `ztna-tcp`: the same relay over its TCP transport (TLS over TCP): `dialTcpLink`
 *   (src/transport/tcp_link.ts, no OFFER connections, the shipped client's 2 spare STREAM
 *   connections) + `helloRelay` (case 12's idle peers).
 * - `bare`: the QUIC datagram hop's server (baselines/quic_datagram_hop.ts); each connection is the
 *   QUIC handshake plus one stream with one byte each way, the bare analogue of HELLO/WELCOME.
 *
 * Modes:
 * - `--mode=handshakes`: `--concurrency` workers connect, authenticate and close, for `--seconds`;
 *   prints `Handshakes {json}` with the count completed and failed.
 * - `--mode=idle`: opens connections (`--concurrency` at a time) and keeps them, idle, until
 *   `--steps` (e.g. 1000,5000,10000) are reached one after the other; after each it prints
 *   `Holding {json}` and waits for a line on stdin before the next step (the line `count` instead
 *   prints `Closed {json}`: how many held connections closed on their own so far). End of stdin
 *   (or a signal) closes every connection and exits.
 *
 * `--keepalive-ms` and `--idle-timeout-ms` set the load's QUIC keep-alive and idle timeout: by
 * default 20 s and 60 s, rare so that 10,000 idle clients cost the relay little (case 4); case 9
 * sets the shipped 1 s and 2.5 s to measure what they cost.
 *
 * Every loop is bounded: a step also ends after `--step-timeout-s` seconds or too many failures.
 * Usage: `deno run --config deno.json --allow-net --allow-read bench/relay_load.ts --target=ztna
 * --port=P --ca=F --token-file=F --mode=idle --steps=1000,5000`.
 * @module
 */
import { parseArgs } from "node:util";
import { dialRelay, helloRelay } from "../src/transport/dial.ts";
import { dialTcpLink } from "../src/transport/tcp_link.ts";
import { ALPN_DATAGRAM_HOP } from "./baselines/quic_datagram_hop.ts";

/** Default keep-alive of idle connections: rare, so 10,000 of them cost the relay little CPU. */
const IDLE_KEEPALIVE_MS = 20_000;
/** Default idle timeout of the load's connections; case 4's relay has the same. */
const IDLE_TIMEOUT_MS = 60_000;

/** What the load closes: a QUIC connection or a TCP-transport link. */
interface Closable {
  close(info: { closeCode: number; reason: string }): void;
  readonly closed: Promise<unknown>;
}

/** One established connection and what keeps it alive. */
interface Held {
  conn: Closable;
  /** The control stream (ztna) or the hello stream (bare); referenced so it stays open. */
  keep: unknown;
  /** Set when the connection closed on its own. */
  dead: boolean;
}

function hold(conn: Closable, keep: unknown): Held {
  const held: Held = { conn, keep, dead: false };
  const died = () => {
    held.dead = true;
  };
  conn.closed.then(died, died);
  return held;
}

/** Opens one authenticated connection. */
type Opener = () => Promise<Held>;

interface LoadArgs {
  target: Target;
  port: number;
  ca: string;
  token: string;
  endpoint: Deno.QuicEndpoint;
  keepAliveMs: number;
  idleTimeoutMs: number;
}

type Target = "ztna" | "ztna-tcp" | "bare";
const TARGETS: readonly string[] = ["ztna", "ztna-tcp", "bare"];

function opener(a: LoadArgs): Opener {
  if (a.target === "ztna-tcp") {
    return async () => {
      const link = await dialTcpLink({
        address: { hostname: "127.0.0.1", port: a.port },
        serverName: "localhost",
        caCerts: [a.ca],
        keepAliveMs: a.keepAliveMs,
        idleTimeoutMs: a.idleTimeoutMs,
        // As a client's default `tcp_spare_streams`: an idle peer holds them too.
        spares: 2,
      });
      try {
        const session = await helloRelay(link, "client", a.token);
        return hold(link, session);
      } catch (e) {
        link.close({ closeCode: 0, reason: "" });
        throw e;
      }
    };
  }
  if (a.target === "ztna") {
    const relay = { address: `127.0.0.1:${a.port}`, server_name: "localhost" };
    return async () => {
      const conn = await dialRelay(relay, {
        caCerts: [a.ca],
        keepAliveMs: a.keepAliveMs,
        idleTimeoutMs: a.idleTimeoutMs,
        endpoint: a.endpoint,
        maxIncomingStreams: 1,
      });
      try {
        const session = await helloRelay(conn, "client", a.token);
        return hold(conn, session);
      } catch (e) {
        conn.close({ closeCode: 0, reason: "" });
        throw e;
      }
    };
  }
  return async () => {
    const conn = await Deno.connectQuic({
      hostname: "127.0.0.1",
      port: a.port,
      serverName: "localhost",
      alpnProtocols: [ALPN_DATAGRAM_HOP],
      caCerts: [a.ca],
      keepAliveInterval: a.keepAliveMs,
      maxIdleTimeout: a.idleTimeoutMs,
      endpoint: a.endpoint,
    });
    try {
      const stream = await conn.createBidirectionalStream();
      const writer = stream.writable.getWriter();
      await writer.write(Uint8Array.of(1));
      const reader = stream.readable.getReader();
      const answer = await reader.read();
      if (answer.done) throw new Error("Hop server ended the hello stream");
      return hold(conn, { writer, reader });
    } catch (e) {
      conn.close({ closeCode: 0, reason: "" });
      throw e;
    }
  };
}

function closeQuiet(conn: Closable): void {
  try {
    conn.close({ closeCode: 0, reason: "" });
  } catch { /* already closed */ }
}

/** Failure messages by kind, counted (a few kinds, not one entry per connection). */
function countError(errors: Record<string, number>, e: unknown): void {
  const kind = (e instanceof Error ? e.message : String(e)).slice(0, 80);
  if (Object.keys(errors).length < 20 || kind in errors) errors[kind] = (errors[kind] ?? 0) + 1;
}

async function handshakes(open: Opener, seconds: number, concurrency: number): Promise<void> {
  const errors: Record<string, number> = {};
  let completed = 0;
  let failed = 0;
  const start = performance.now();
  const until = start + seconds * 1_000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < until) {
      try {
        const held = await open();
        if (performance.now() <= until) completed++;
        closeQuiet(held.conn);
      } catch (e) {
        failed++;
        countError(errors, e);
      }
    }
  }));
  const elapsed = (performance.now() - start) / 1_000;
  console.log(`Handshakes ${JSON.stringify({ completed, failed, seconds: elapsed, errors })}`);
}

async function idle(
  open: Opener,
  steps: number[],
  options: { concurrency: number; stepTimeoutS: number },
): Promise<Held[]> {
  const held: Held[] = [];
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
  let pendingText = "";
  const nextLine = async (): Promise<string | null> => {
    while (!pendingText.includes("\n")) {
      const r = await lines.read();
      if (r.done) return null;
      pendingText += r.value;
    }
    const at = pendingText.indexOf("\n");
    const line = pendingText.slice(0, at);
    pendingText = pendingText.slice(at + 1);
    return line;
  };
  for (const step of steps) {
    const errors: Record<string, number> = {};
    let failed = 0;
    const start = performance.now();
    const until = start + options.stepTimeoutS * 1_000;
    const maxFailures = Math.max(50, step / 10);
    let opening = held.length;
    await Promise.all(Array.from({ length: options.concurrency }, async () => {
      while (opening < step && failed < maxFailures && performance.now() < until) {
        opening++;
        try {
          held.push(await open());
        } catch (e) {
          opening--;
          failed++;
          countError(errors, e);
        }
      }
    }));
    const seconds = (performance.now() - start) / 1_000;
    // Connections that died while idle (they should not) are counted, not hidden.
    const closed = held.filter((h) => h.dead).length;
    console.log(
      `Holding ${JSON.stringify({ step, open: held.length, closed, failed, seconds, errors })}`,
    );
    let line = await nextLine();
    while (line === "count") {
      console.log(`Closed ${JSON.stringify({ closed: held.filter((h) => h.dead).length })}`);
      line = await nextLine();
    }
    if (line === null) break;
  }
  return held;
}

function positive(value: string | undefined, name: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(
      `Cannot run the relay load as '--${name}' must be a positive integer: current value is ${value}`,
    );
  }
  return n;
}

function isTarget(value: string | undefined): value is Target {
  return value !== undefined && TARGETS.includes(value);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      mode: { type: "string" },
      target: { type: "string" },
      port: { type: "string" },
      ca: { type: "string" },
      "token-file": { type: "string" },
      seconds: { type: "string", default: "5" },
      concurrency: { type: "string", default: "32" },
      steps: { type: "string", default: "1000" },
      "step-timeout-s": { type: "string", default: "120" },
      "keepalive-ms": { type: "string", default: String(IDLE_KEEPALIVE_MS) },
      "idle-timeout-ms": { type: "string", default: String(IDLE_TIMEOUT_MS) },
    },
    strict: true,
  });
  const target = values.target;
  if (!isTarget(target)) {
    throw new RangeError(
      `Cannot run the relay load as '--target' must be ztna, ztna-tcp or bare: current value is ${target}`,
    );
  }
  if (!values.ca) throw new RangeError("Cannot run the relay load as '--ca' is missing");
  const tokenFile = values["token-file"];
  if (target !== "bare" && !tokenFile) {
    throw new RangeError("Cannot run the relay load as '--token-file' is missing");
  }
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const open = opener({
    target,
    port: positive(values.port, "port"),
    ca: await Deno.readTextFile(values.ca),
    token: tokenFile ? (await Deno.readTextFile(tokenFile)).trim() : "",
    endpoint,
    keepAliveMs: positive(values["keepalive-ms"], "keepalive-ms"),
    idleTimeoutMs: positive(values["idle-timeout-ms"], "idle-timeout-ms"),
  });
  const concurrency = positive(values.concurrency, "concurrency");
  if (values.mode === "handshakes") {
    await handshakes(open, positive(values.seconds, "seconds"), concurrency);
  } else if (values.mode === "idle") {
    const steps = (values.steps ?? "").split(",").map((s) => positive(s, "steps"));
    const held = await idle(open, steps, {
      concurrency,
      stepTimeoutS: positive(values["step-timeout-s"], "step-timeout-s"),
    });
    for (const h of held) closeQuiet(h.conn);
  } else {
    throw new RangeError(
      `Cannot run the relay load as '--mode' must be handshakes or idle: current value is ${values.mode}`,
    );
  }
  endpoint.close({ closeCode: 0, reason: "" });
}
