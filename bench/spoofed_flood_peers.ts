/**
 * The two programs bench/spoofed_flood.ts runs inside lab namespaces (`deno run -A --unstable-net`):
 *
 * - `flood`: QUIC client Initials at `--rate` per second for `--seconds`, each under a fresh random
 *   Destination Connection ID (so each is a new connection attempt the relay must decide on) and
 *   each from the next of `--sources` local addresses starting at `--source-base` (the lab routes
 *   that range to this namespace as local, and drops every answer to it: to the relay they are
 *   spoofed sources that never reply). The ClientHello is a real Deno client's, captured once and
 *   re-sealed; every packet is sealed before the first is sent, so sealing does not compete with
 *   the relay for the CPU. Prints `Sealed {json}`, `Flooding`, then `Flooded {json}`.
 * - `honest`: `--attempts` sequential dials of the relay, each TLS handshake + HELLO with a valid
 *   client token (src/transport/dial.ts, as the shipped client does), `--gap-ms` apart, none
 *   started after `--deadline-ms`; prints `Honest {json}` with each attempt's outcome and time.
 *
 * Every loop is bounded by a count and a deadline.
 * @module
 */
import { parseArgs } from "node:util";
import { ALPN } from "../src/protocol/mod.ts";
import { DialError, dialRelay, helloRelay } from "../src/transport/dial.ts";
import { captureFirstFlight, MIN_INITIAL_DATAGRAM, sealInitial } from "./quic_initial.ts";
import { percentile } from "./stats.ts";

/** At most this many packets are sealed (≈ 60 MiB): a typo in --rate cannot exhaust memory. */
const MAX_PACKETS = 50_000;
/** Source addresses at most: one UDP socket each. */
const MAX_SOURCES = 4_096;
/**
 * The pacing tick: packets due in each tick are sent back to back. Short, because a token bucket
 * favours whatever arrives between bursts: with 10 ms bursts an honest client got through 3.5×
 * more often than an even flood of the same rate would let it (timers fire every 1–3 ms here).
 */
const TICK_MS = 1;

/** One honest attempt. */
export interface HonestAttempt {
  ok: boolean;
  /** Start to WELCOME (ok) or to the failure, in milliseconds. */
  ms: number;
  /** Why it failed: the dial failure kind and its detail. */
  failure?: string;
}

/** What `flood` reports when done. */
export interface FloodReport {
  sent: number;
  sendErrors: number;
  seconds: number;
  sources: number;
  /** Gaps between send bursts (ms): a starved sender catches up in bursts. */
  gapP50Ms: number;
  gapP99Ms: number;
  gapMaxMs: number;
}

function ipv4ToInt(address: string): number {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new RangeError(`Cannot parse '--source-base' as IPv4: current value is "${address}"`);
  }
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join(".");
}

function hostPort(text: string): { hostname: string; port: number } {
  const i = text.lastIndexOf(":");
  return { hostname: text.slice(0, i), port: Number(text.slice(i + 1)) };
}

async function flood(args: Record<string, string | undefined>): Promise<void> {
  const target = hostPort(args.target ?? "");
  const rate = Number(args.rate);
  const seconds = Number(args.seconds);
  const sources = Number(args.sources ?? "1");
  const base = ipv4ToInt(args["source-base"] ?? "");
  const total = Math.round(rate * seconds);
  if (!(rate > 0) || !(seconds > 0) || total > MAX_PACKETS) {
    throw new RangeError(
      `Cannot flood as rate × seconds must be 1 to ${MAX_PACKETS}: current values are ${rate} × ${seconds}`,
    );
  }
  if (!Number.isInteger(sources) || sources < 1 || sources > MAX_SOURCES) {
    throw new RangeError(
      `Cannot flood as '--sources' must be 1 to ${MAX_SOURCES}: current value is ${sources}`,
    );
  }

  const t0 = performance.now();
  const flight = await captureFirstFlight(ALPN, args["server-name"] ?? target.hostname);
  // A spoofer sends only the first datagram of each attempt; with one ClientHello datagram (Deno's
  // fits in one) that is the whole attempt, and the relay's answer goes nowhere.
  const first = flight.packets[0];
  const packets: Uint8Array[] = [];
  for (let i = 0; i < total; i++) {
    const dcid = crypto.getRandomValues(new Uint8Array(8));
    packets.push(
      sealInitial(dcid, flight.scid, first.packetNumber, first.payload, MIN_INITIAL_DATAGRAM),
    );
  }
  const sockets: Deno.DatagramConn[] = [];
  for (let i = 0; i < sources; i++) {
    sockets.push(Deno.listenDatagram({ transport: "udp", hostname: intToIpv4(base + i), port: 0 }));
  }
  console.log(
    `Sealed ${JSON.stringify({ packets: total, ms: Math.round(performance.now() - t0) })}`,
  );
  console.log("Flooding");

  const to: Deno.NetAddr = { transport: "udp", ...target };
  const start = performance.now();
  let sent = 0;
  let sendErrors = 0;
  const gaps: number[] = [];
  let lastBurst = start;
  while (sent < total) {
    const now = performance.now();
    gaps.push(now - lastBurst);
    lastBurst = now;
    const due = Math.min(total, Math.floor(((now - start) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      await sockets[sent % sources].send(packets[sent], to).catch(() => sendErrors++);
    }
    // Never past the planned duration plus a second: a starved sender stops rather than overrun.
    if (performance.now() - start > (seconds + 1) * 1000) break;
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  const report: FloodReport = {
    sent,
    sendErrors,
    seconds: (performance.now() - start) / 1000,
    sources,
    gapP50Ms: percentile(gaps, 50),
    gapP99Ms: percentile(gaps, 99),
    gapMaxMs: percentile(gaps, 100),
  };
  console.log(`Flooded ${JSON.stringify(report)}`);
  for (const s of sockets) s.close();
}

async function honest(args: Record<string, string | undefined>): Promise<void> {
  const attempts = Number(args.attempts ?? "20");
  const gapMs = Number(args["gap-ms"] ?? "300");
  const timeoutMs = Number(args["timeout-ms"] ?? "3000");
  const deadline = performance.now() + Number(args["deadline-ms"] ?? "15000");
  const caCerts = [await Deno.readTextFile(args.ca ?? "")];
  const token = (await Deno.readTextFile(args["token-file"] ?? "")).trim();
  const target = { address: args.target ?? "", server_name: args["server-name"] };
  const results: HonestAttempt[] = [];
  for (let i = 0; i < attempts && performance.now() < deadline; i++) {
    const t0 = performance.now();
    let conn: Deno.QuicConn | undefined;
    try {
      conn = await dialRelay(target, {
        caCerts,
        keepAliveMs: 1_000,
        idleTimeoutMs: 5_000,
        timeoutMs,
      });
      const left = Math.max(1, timeoutMs - (performance.now() - t0));
      await helloRelay(conn, "client", token, left);
      results.push({ ok: true, ms: performance.now() - t0 });
    } catch (e) {
      const failure = e instanceof DialError
        ? `${e.failure.kind}: ${"detail" in e.failure ? e.failure.detail : e.failure.code}`
        : String(e);
      results.push({ ok: false, ms: performance.now() - t0, failure });
    } finally {
      conn?.close({ closeCode: 0, reason: "done" });
    }
    await new Promise((r) => setTimeout(r, gapMs));
  }
  console.log(`Honest ${JSON.stringify(results)}`);
}

if (import.meta.main) {
  const { positionals, values } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: Object.fromEntries(
      [
        "target",
        "server-name",
        "rate",
        "seconds",
        "sources",
        "source-base",
        "attempts",
        "gap-ms",
        "timeout-ms",
        "deadline-ms",
        "ca",
        "token-file",
      ].map((k) => [k, { type: "string" as const }]),
    ),
  });
  const mode = positionals[0];
  if (mode === "flood") await flood(values);
  else if (mode === "honest") await honest(values);
  else {
    console.error(`Cannot run mode "${mode}": expected flood or honest`);
    Deno.exit(2);
  }
  // Abandoned dials and closed endpoints may keep timers alive; the report is out, so leave.
  Deno.exit(0);
}
