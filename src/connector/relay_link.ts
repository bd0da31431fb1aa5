/**
 * One connector session with one relay: dial, HELLO, register every service (each ACKed or NACKed),
 * then serve the flows the relay opens until the connection ends.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ConnectorConfig, RelayTargetConfig } from "../config/schema.ts";
import { closeCodeOf, DialError, dialRelay, helloRelay } from "../transport/dial.ts";
import type { SessionEnd } from "../transport/reconnect.ts";
import type { BackendTable } from "./backend_dialer.ts";
import { serveFlow } from "./flow_server.ts";

/** Incoming flow streams a connector allows per relay connection. */
export const MAX_INCOMING_FLOWS = 4_096;

/** What one link needs. */
export interface RelayLinkDeps {
  config: ConnectorConfig;
  token: string;
  caCerts?: string[];
  backends: BackendTable;
  signal: AbortSignal;
  log: Logger;
}

/** Runs one session with `target` to its end. Never throws. */
export async function runRelayLink(
  target: RelayTargetConfig,
  deps: RelayLinkDeps,
): Promise<SessionEnd> {
  const { config, log, signal } = deps;
  const rlog = log.with({ relay: target.address });
  let conn: Deno.QuicConn;
  try {
    conn = await dialRelay(target, {
      caCerts: deps.caCerts,
      keepAliveMs: config.keepalive_ms,
      idleTimeoutMs: config.idle_timeout_ms,
      signal,
      maxIncomingStreams: MAX_INCOMING_FLOWS,
    });
  } catch (e) {
    const level = e instanceof DialError && e.failure.kind === "untrusted_certificate"
      ? "error"
      : "warn";
    rlog[level]("{error}", { error: e instanceof Error ? e.message : String(e) });
    return { authenticated: false };
  }
  const onAbort = () => conn.close({ closeCode: 0x401, reason: "going_away" });
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const session = await helloRelay(conn, "connector", deps.token);
    rlog.info("Connected to relay {relay} as {identity}", {
      relay: target.address,
      identity: session.welcome.identity,
    });
    const flows = serveIncoming(conn, deps, rlog);
    for (const service of deps.backends.services) {
      await session.control.send({ type: "register", service });
    }
    while (true) {
      const msg = await session.control.next().catch(() => null);
      if (msg === null) break;
      if (msg.type === "ack") rlog.info("Registered service {service}", { service: msg.service });
      else if (msg.type === "nack") {
        rlog.error("Relay refused to register service {service}: {code}; not retrying", {
          service: msg.service,
          code: msg.code,
        });
      }
    }
    await flows;
    const code = await closeCodeOf(conn);
    if (!signal.aborted) {
      rlog.warn("Lost relay {relay} ({code})", { relay: target.address, code: code ?? "closed" });
    }
    return { authenticated: true, code };
  } catch (e) {
    if (e instanceof DialError && e.failure.kind === "refused") {
      rlog.error("Relay {relay} refused this connector: {code}", {
        relay: target.address,
        code: e.failure.code,
      });
      return { authenticated: false, code: e.failure.code };
    }
    rlog.warn("Session with relay {relay} failed: {error}", {
      relay: target.address,
      error: String(e),
    });
    return { authenticated: false, code: await closeCodeOf(conn) };
  } finally {
    signal.removeEventListener("abort", onAbort);
    try {
      conn.close({ closeCode: 0, reason: "" });
    } catch { /* already closed */ }
  }
}

async function serveIncoming(conn: Deno.QuicConn, deps: RelayLinkDeps, log: Logger): Promise<void> {
  const running = new Set<Promise<void>>();
  const reader = conn.incomingBidirectionalStreams.getReader();
  while (true) {
    const next = await reader.read().catch(() => ({ done: true as const, value: undefined }));
    if (next.done) break;
    const p = serveFlow(next.value, deps.backends, deps.config.connect_timeout_ms, log).finally(
      () => running.delete(p),
    );
    running.add(p);
  }
  await Promise.all(running);
}
