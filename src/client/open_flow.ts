/**
 * Turns one accepted local TCP connection into a flow: OPEN, REPLY, then the pump; a refusal closes
 * the local socket and logs the typed reason. A relay connection that turns out dead before the
 * REPLY (the client had not noticed yet) costs the flow nothing: no local byte was read yet, so it
 * is opened again on the next relay connection, within the same wait for one.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ErrorCode } from "../protocol/mod.ts";
import type { PooledSession } from "./relay_pool.ts";
import { type ByteConn, runTcpFlow } from "../transport/tcp_flow.ts";
import { closeFlowStream, type FlowRequest, requestFlow } from "./request_flow.ts";
import { FRAME_HEADER, sealDataFrame } from "../protocol/mod.ts";
import type { SessionHolder } from "./session_holder.ts";
import { clientStats } from "./stats.ts";
import type { PeerLink } from "../transport/mod.ts";

/** Outcome of a flow for logs and tests. */
export type FlowOutcome = { ok: true } | { ok: false; code: ErrorCode | "unknown" };

/** Options of {@link openFlow}. */
export interface OpenFlowOptions {
  session: PooledSession;
  service: string;
  replyTimeoutMs: number;
  log: Logger;
  /** The service's live direct path, tried first. */
  direct?: PeerLink;
  /** Where the next relay session comes from when `session` dies before the REPLY. */
  holder?: SessionHolder;
  /** How long a flow may wait for that next session, in milliseconds. @default {0} */
  relayWaitMs?: number;
  /**
   * A proxy front end's answer to its local client (SOCKS5 reply, HTTP status): `opened` before
   * any byte flows, `refused` before the local connection is closed.
   */
  answer?: {
    opened(): Promise<void>;
    refused(code: ErrorCode | "unknown"): Promise<void>;
  };
  /** Bytes the local client sent after its proxy request, sent first on the flow. */
  firstBytes?: Uint8Array;
}

/** First pause before an OPEN the relay rate-limited is tried again; it doubles up to the cap. */
const LIMIT_RETRY_MIN_MS = 50;
const LIMIT_RETRY_MAX_MS = 1_000;

/**
 * The pause before retry `n` of a rate-limited OPEN: exponential, with jitter over its upper half,
 * so a burst refused together does not come back together at the next refill.
 */
export function limitBackoff(n: number): number {
  const ceiling = Math.min(LIMIT_RETRY_MAX_MS, LIMIT_RETRY_MIN_MS * 2 ** Math.min(n, 10));
  return ceiling / 2 + Math.random() * ceiling / 2;
}

/** When the last rate-limited OPEN was seen; a burst is refusals less than a second apart. */
let lastRateLimited = 0;

/** Says once per burst that the relay rate-limits this client's flow opens and they are retried. */
export function noteRateLimited(service: string, waitMs: number, log: Logger): void {
  const now = Date.now();
  if (now - lastRateLimited > 1_000) {
    log.warn(
      "The relay rate-limits this client's flow opens (limit_exceeded, e.g. for {service}): " +
        "retrying them with backoff for up to {waitMs} ms (relay_wait_ms)",
      { service, waitMs },
    );
  }
  lastRateLimited = now;
}

/** Opens a flow for `service` and runs it; closes `tcp` in every case. */
export async function openFlow(tcp: ByteConn, options: OpenFlowOptions): Promise<FlowOutcome> {
  const { service, log } = options;
  const onDirect = options.direct && await requestOnDirect(options.direct, options);
  const path: "direct" | "relay" = onDirect ? "direct" : "relay";
  const req = onDirect ?? await requestOnRelay(options);
  if (!req.ok) {
    await refuseLocal(tcp, req, options);
    return req;
  }
  const { flowId, reader, writer, stream, release } = req.flow;
  try {
    await options.answer?.opened();
    await sendFirstBytes(writer, options.firstBytes);
  } catch {
    // The local client left before the flow started.
    release();
    await closeFlowStream(req.flow, "local client gone");
    closeQuietly(tcp);
    return { ok: false, code: "flow_reset" };
  }
  writer.releaseLock();
  log.debug("Flow {flowId} to {service} open via {path}", { flowId, service, path });
  clientStats.flowOpened(service, path);
  // Counted at the local socket: what the local program sent and what it was given back.
  const counts = { sent: 0, received: 0 };
  const result = await runTcpFlow(countedConn(tcp, counts), reader, stream.writable).finally(() => {
    release();
    clientStats.flowEnded(service, path, counts.sent, counts.received);
  });
  log.debug("Flow {flowId} ended: sent {sent}, received {received}", { flowId, ...result });
  return { ok: true };
}

/**
 * The flow on the service's live direct path, or undefined when the relay should carry it: the
 * path is dead, broke while opening, or its connector has no backend connection for us (a backend
 * refusal is the backend's answer, and stands).
 */
async function requestOnDirect(
  direct: PeerLink,
  { service, replyTimeoutMs, log }: OpenFlowOptions,
): Promise<FlowRequest | undefined> {
  const req = await requestFlow({ conn: direct }, service, "tcp", replyTimeoutMs, log);
  if (req.ok || !(req.lost || req.code === "no_connector" || req.code === "flow_reset")) return req;
  log.debug("Flow to {service} not opened on the direct path ({code}); using the relay", {
    service,
    code: req.code,
  });
  return undefined;
}

/**
 * The flow through the relay: a rate-limited OPEN is tried again with backoff, and one whose relay
 * connection died is opened on the next, both within `relayWaitMs`.
 */
async function requestOnRelay(options: OpenFlowOptions): Promise<FlowRequest> {
  const { service, replyTimeoutMs, log, holder, relayWaitMs = 0 } = options;
  let session = options.session;
  const waitUntil = Date.now() + relayWaitMs;
  let retries = 0;
  while (true) {
    const attempt = await requestFlow(session, service, "tcp", replyTimeoutMs, log);
    if (!attempt.ok && attempt.code === "limit_exceeded") {
      // The relay's flow-open rate refused this OPEN before anything was forwarded, and no local
      // byte has been read yet: try again later, within the same wait a reconnect gets.
      const delay = limitBackoff(retries++);
      if (Date.now() + delay < waitUntil) {
        noteRateLimited(service, relayWaitMs, log);
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }
    }
    if (attempt.ok || !attempt.lost || !holder) return attempt;
    // The relay connection died under this flow: wait for the next one.
    const next = await holder.next(session, waitUntil - Date.now());
    if (!next) return attempt;
    log.debug("Flow to {service} moves to the new relay connection", { service });
    session = next;
  }
}

/** Says why a flow was refused (log, counter, the proxy front end's answer) and closes `tcp`. */
async function refuseLocal(
  tcp: ByteConn,
  req: Extract<FlowRequest, { ok: false }>,
  { service, log, holder, relayWaitMs = 0, answer }: OpenFlowOptions,
): Promise<void> {
  if (req.lost && holder) {
    log.warn(
      "Closed a local connection for {service}: no relay connection within {waitMs} ms " +
        "(the last one was lost: {code})",
      { service, waitMs: relayWaitMs, code: req.code },
    );
  } else log.warn("Flow to {service} refused: {code}", { service, code: req.code });
  clientStats.dropped(service, req.lost && holder ? "no_relay" : req.code);
  await answer?.refused(req.code).catch(() => {});
  closeQuietly(tcp);
}

/** Sends the bytes the local client sent after its proxy request as the flow's first frame. */
async function sendFirstBytes(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  first: Uint8Array | undefined,
): Promise<void> {
  if (!first || first.byteLength === 0) return;
  const frame = new Uint8Array(FRAME_HEADER + first.byteLength);
  frame.set(first, FRAME_HEADER);
  await writer.write(sealDataFrame(frame, first.byteLength));
}

/** `tcp`, counting the bytes read from it (`sent`) and written to it (`received`) into `counts`. */
function countedConn(tcp: ByteConn, counts: { sent: number; received: number }): ByteConn {
  return {
    read: async (p) => {
      const n = await tcp.read(p);
      if (n !== null) counts.sent += n;
      return n;
    },
    write: async (p) => {
      const n = await tcp.write(p);
      counts.received += n;
      return n;
    },
    close: () => tcp.close(),
    closeWrite: () => tcp.closeWrite(),
  };
}

/** Closes `conn`, which may already be closed. */
function closeQuietly(conn: ByteConn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
