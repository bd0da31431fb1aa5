/**
 * One connector session with one relay: dial, HELLO, register every service (each ACKed or NACKed),
 * then serve the flows the relay opens until the connection ends.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ConnectorConfig, RelayTargetConfig } from "../config/schema.ts";
import { runRelaySession } from "../transport/relay_session.ts";
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
export function runRelayLink(target: RelayTargetConfig, deps: RelayLinkDeps): Promise<SessionEnd> {
  const { config, log } = deps;
  const rlog = log.with({ relay: target.address });
  return runRelaySession(target, {
    role: "connector",
    token: deps.token,
    caCerts: deps.caCerts,
    keepAliveMs: config.keepalive_ms,
    idleTimeoutMs: config.idle_timeout_ms,
    maxIncomingStreams: MAX_INCOMING_FLOWS,
    signal: deps.signal,
    log: rlog,
  }, async (session) => {
    const flows = serveIncoming(session.conn, deps, rlog);
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
  });
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
