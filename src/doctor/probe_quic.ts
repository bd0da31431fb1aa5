/**
 * The doctor's QUIC probe of one relay: a real handshake with the certificate verified as the
 * roles verify it, then HELLO with the token; the WELCOME tells identity, grants, the token's
 * expiry on the relay's clock, and where the relay saw us (QAD).
 * @module
 */
import { DialError, dialRelay, helloRelay, type RelaySession } from "../transport/mod.ts";
import type { QuicFacts } from "./report.ts";

/** Options of {@link probeQuic}. */
export interface QuicProbeOptions {
  role: "client" | "connector";
  token: string;
  caCerts?: string[];
  /** One endpoint for every probe, so the relays' observations of it can be compared. */
  endpoint: Deno.QuicEndpoint;
  timeoutMs: number;
}

/** The facts, and the open session when HELLO succeeded (the caller closes it). */
export interface QuicProbe {
  facts: QuicFacts;
  session?: RelaySession<Deno.QuicConn>;
  /** The relay address as dialed (`ip:port`), for the NAT observation. */
  remote?: string;
}

/** Dials `address` (verifying `serverName`) and says HELLO. Never throws. */
export async function probeQuic(
  target: { address: string; server_name?: string },
  options: QuicProbeOptions,
): Promise<QuicProbe> {
  const started = performance.now();
  let conn: Deno.QuicConn;
  try {
    conn = await dialRelay(target, {
      caCerts: options.caCerts,
      keepAliveMs: 1_000,
      idleTimeoutMs: 5_000,
      endpoint: options.endpoint,
      timeoutMs: options.timeoutMs,
    });
  } catch (e) {
    return { facts: failure(e) };
  }
  const handshakeMs = performance.now() - started;
  const remote = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
  try {
    const helloAt = performance.now();
    const session = await helloRelay(conn, options.role, options.token, options.timeoutMs);
    const w = session.welcome;
    return {
      session,
      remote,
      facts: {
        ok: true,
        handshakeMs,
        helloMs: performance.now() - helloAt,
        identity: w.identity,
        services: [...w.services],
        observed: { ...w.observed },
        tokenExpiresAt: w.tokenExpiresAt,
      },
    };
  } catch (e) {
    try {
      conn.close({ closeCode: 0, reason: "" });
    } catch { /* already closed */ }
    return { facts: failure(e), remote };
  }
}

function failure(e: unknown): QuicFacts {
  if (e instanceof DialError) {
    const f = e.failure;
    if (f.kind === "refused") {
      return { ok: false, kind: "refused", code: f.code, detail: e.message };
    }
    return { ok: false, kind: f.kind, detail: e.message };
  }
  return { ok: false, kind: "protocol", detail: e instanceof Error ? e.message : String(e) };
}
