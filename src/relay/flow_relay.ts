/**
 * One client flow through the relay: read OPEN, authorize, pick a connector of the service's pool,
 * open a stream to it, relay its REPLY, then splice both directions byte for byte. A member that
 * does not take the flow — its connection is gone, or (protocol 3) it sends no ACCEPT within the
 * accept deadline while another member could — is left for the next one before the client hears
 * anything: until the REPLY no client byte is forwarded, so nothing has reached a backend. A flow
 * that finds no member waits a bounded time for a connector to register.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Identity } from "../auth/mod.ts";
import {
  type AcceptHeader,
  decodeAcceptOrReply,
  decodeHeader,
  encodeHeader,
  type ErrorCode,
  type ReplyHeader,
  ZtnaError,
} from "../protocol/mod.ts";
import type { RelayMetrics } from "./relay_metrics.ts";
import type { ConnectorRegistry, PoolMember } from "./registry.ts";
import { type DatagramPeer, linkUdpFlow } from "./udp_links.ts";
import type { BrokerPeer } from "./direct_broker.ts";
import { admitFlow, admitMember, mayWaitForConnector } from "./admission.ts";
import type { RefusalObserver } from "./refusal_observer.ts";
import type { PolicyDecision } from "../policy/mod.ts";
import { ChunkReader } from "../transport/mod.ts";

/** Byte counts of one peer connection, for the admin view. */
export interface ByteCounters {
  /** Payload bytes received from this peer and relayed on. */
  bytesFromPeer: number;
  /** Payload bytes relayed to this peer. */
  bytesToPeer: number;
}

/** A connector connection as a pool member. */
export interface ConnectorMember extends PoolMember, ByteCounters, DatagramPeer, BrokerPeer {
  readonly conn: Deno.QuicConn;
  readonly identity: string;
  /** Speaks protocol 3: answers every FLOW with ACCEPT before it dials the backend. */
  readonly sendsAccept: boolean;
}

/** What a flow needs from the relay. */
export interface FlowDeps {
  registry: ConnectorRegistry<ConnectorMember>;
  metrics: RelayMetrics;
  /** Checks revocation and expiry at open time, so a revoked token opens nothing more. */
  stillValid(identity: Identity): ErrorCode | undefined;
  nextFlowId(): number;
  headerTimeoutMs: number;
  /** The connector's REPLY deadline (`limits.flow_open_timeout_ms`). */
  openTimeoutMs: number;
  /** The connector's ACCEPT deadline (`limits.flow_accept_timeout_ms`), protocol 3 only. */
  acceptTimeoutMs: number;
  /** How long a flow waits for a connector of an empty pool (`limits.connector_wait_ms`). */
  connectorWaitMs: number;
  /** Milliseconds since the relay started (an unregistered service is not unknown at first). */
  uptimeMs(): number;
  /** How long after start that is (`limits.registration_grace_ms`). */
  registrationGraceMs: number;
  /** Removes a member whose connection cannot take flows from every pool at once. */
  dropMember(member: ConnectorMember, why: string): void;
  maxFlows: number;
  draining(): boolean;
  /** Counts, records and logs every refusal. */
  observer: RefusalObserver;
  /** Milliseconds since the epoch. */
  clock(): number;
  /** Takes a flow-open token of `identity`; false when its rate is exhausted. */
  allowFlowOpen(identity: string): boolean;
}

/** A connection's flows still waiting for their OPEN or REPLY (bounded per connection). */
export interface PendingOpens {
  pendingOpens: number;
}

/** The client side as the access policy sees it (absent in tests without a policy). */
export interface PolicyPeer {
  /** The access policy's answer for `service` now; undefined when no policy is loaded. */
  decidePolicy?(service: string): PolicyDecision | undefined;
  /** Registers a live flow so a policy reload can end it; returns its release. */
  trackFlow?(flow: { service: string; close(code: ErrorCode): void }): () => void;
}

type Bidi = { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };

function withTimeout<T>(p: Promise<T>, ms: number, code: ErrorCode, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ZtnaError(code, `${what} not received within ${ms} ms`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

async function refuse(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  reader: ChunkReader,
  code: ErrorCode,
) {
  await writer.write(encodeHeader({ type: "reply", code, flowId: 0 })).catch(() => {});
  await writer.close().catch(() => {});
  await reader.cancel(code);
}

/** Forwards bytes one way until end of stream; a broken side breaks the other (no END reaches it). */
async function forward(
  from: ChunkReader,
  to: WritableStreamDefaultWriter<Uint8Array>,
  count: (n: number) => void,
): Promise<void> {
  while (true) {
    let chunk: Uint8Array | null;
    try {
      // Valid until the next read; the awaited write below is done with it by then.
      chunk = await from.nextReusing();
    } catch {
      await to.close().catch(() => {});
      return;
    }
    if (chunk === null) {
      await to.close().catch(() => {});
      return;
    }
    try {
      await to.write(chunk);
      count(chunk.byteLength);
    } catch {
      await from.cancel("downstream gone");
      return;
    }
  }
}

/** A member's REPLY to FLOW, and the stream to splice when it is `ok`. */
interface Opened {
  kind: "opened";
  pool: string;
  flowId: number;
  reply: ReplyHeader;
  connector: ChunkReader;
  connectorWriter: WritableStreamDefaultWriter<Uint8Array>;
}

/** Why a member did not take a flow (the label of `ztna_flow_retries_total`). */
type NotTaken = "no_accept" | "connection_lost" | "stream_ended" | "streams_exhausted";

/** One member's answer: the flow opened (or refused by its backend), go on, or fail the flow. */
type Attempt =
  | Opened
  | { kind: "next"; why: NotTaken }
  | { kind: "failed"; code: ErrorCode; flowId: number };

/** `p`'s value, "timeout" after `ms`, "woken" when `wake` resolves first, or its error. */
async function settle<T>(
  p: Promise<T>,
  ms: number,
  wake?: Promise<unknown>,
): Promise<{ value: T } | { error: unknown } | "timeout" | "woken"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return await Promise.race([
    p.then((value) => ({ value }), (error: unknown) => ({ error })),
    new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), Math.max(0, ms))),
    ...(wake ? [wake.then(() => "woken" as const)] : []),
  ]).finally(() => clearTimeout(timer));
}

/** Resolves when any connector registers a service, or after `ms`, or when `signal` aborts. */
function registration(deps: FlowDeps, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      off();
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    const off = deps.registry.onAdd(done);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** True when `conn` has closed (its `closed` promise has settled). */
async function isClosed(conn: Deno.QuicConn): Promise<boolean> {
  return await Promise.race([
    conn.closed.then(() => true, () => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 0)),
  ]);
}

/**
 * Marks `member` suspect after it left a flow unanswered, and keeps listening on that flow's
 * stream: a late answer (ACCEPT or REPLY) means it is alive, so it is healthy again. Our side of
 * the stream is finished at once, so if the FLOW still gets through, the connector's flow ends
 * without END (an abort) right after its backend connect: no client byte was ever sent on it.
 */
function suspect(
  member: ConnectorMember,
  answer: Promise<unknown>,
  abandoned: { reader: ChunkReader; writer: WritableStreamDefaultWriter<Uint8Array> },
  deps: FlowDeps,
  log: Logger,
): void {
  if (!member.suspect) {
    member.suspect = true;
    log.warn(
      "Connector {connector} did not accept a flow within {ms} ms: passed over until it answers",
      { connector: member.connId, ms: deps.acceptTimeoutMs },
    );
  }
  void abandoned.writer.close().catch(() => {});
  const timer = setTimeout(() => void abandoned.reader.cancel("abandoned"), deps.openTimeoutMs);
  answer.then(() => {
    if (!member.suspect) return;
    member.suspect = false;
    log.info("Connector {connector} answers again", { connector: member.connId });
  }, () => {}).finally(() => {
    clearTimeout(timer);
    void abandoned.reader.cancel("abandoned");
  });
}

/**
 * Offers a flow to one pool member: a stream, FLOW, then (protocol 3) ACCEPT within the accept
 * deadline — past it, when another member could take the flow, this one is suspect and the flow
 * moves on; with nobody else it keeps waiting, and moves as soon as another member registers —
 * then the REPLY within the open deadline. A member whose connection cannot take the stream is
 * dropped from every pool at once.
 */
async function openOn(
  member: ConnectorMember,
  pool: string,
  tried: ReadonlySet<string>,
  header: { service: string; identity: string; protocol: "udp" | undefined; flowId: number },
  deps: FlowDeps,
  log: Logger,
): Promise<Attempt> {
  let upstream: Deno.QuicBidirectionalStream;
  try {
    upstream = await member.conn.createBidirectionalStream();
  } catch (e) {
    // Deno 2.9.6 throws RangeError when the peer allows no more streams: full, not gone.
    if (e instanceof RangeError) return { kind: "next", why: "streams_exhausted" };
    deps.dropMember(member, "its connection cannot open a stream");
    return { kind: "next", why: "connection_lost" };
  }
  const reader = new ChunkReader(upstream.readable);
  const writer = upstream.writable.getWriter();
  const { flowId } = header;
  const deadline = deps.clock() + deps.openTimeoutMs;
  const lost = async (): Promise<Attempt> => {
    await writer.close().catch(() => {});
    await reader.cancel("connection lost");
    if (!(await isClosed(member.conn))) return { kind: "next", why: "stream_ended" };
    deps.dropMember(member, "its connection closed");
    return { kind: "next", why: "connection_lost" };
  };
  try {
    await writer.write(
      encodeHeader(
        header.protocol === "udp"
          ? { type: "flow", ...header, protocol: "udp" }
          : { type: "flow", flowId, service: header.service, identity: header.identity },
      ),
    );
  } catch {
    return await lost();
  }
  const failed = async (code: ErrorCode): Promise<Attempt> => {
    await writer.close().catch(() => {});
    await reader.cancel(code);
    return { kind: "failed", code, flowId };
  };
  const readReply = () => reader.readHeader((b) => decodeHeader(b, "reply"));
  let first: Promise<AcceptHeader | ReplyHeader> = member.sendsAccept
    ? reader.readHeader(decodeAcceptOrReply)
    : readReply();
  first.catch(() => {}); // settled below, or watched by suspect()
  if (member.sendsAccept) {
    let answer = await settle(first, deps.acceptTimeoutMs);
    while (answer === "timeout" || answer === "woken") {
      if (deps.registry.hasOther(pool, new Set([...tried, member.connId]))) {
        suspect(member, first, { reader, writer }, deps, log);
        return { kind: "next", why: "no_accept" };
      }
      // Nobody else to try: a slow but live connector still serves the flow. Look again when a
      // member registers (a restarted connector, while this one may be dead).
      const left = deadline - deps.clock();
      if (left <= 0) return await failed("backend_timeout");
      const stop = new AbortController();
      answer = await settle(first, left, registration(deps, left, stop.signal));
      stop.abort();
    }
    if ("error" in answer) {
      if (answer.error instanceof ZtnaError) return await failed(answer.error.code);
      return await lost();
    }
    member.suspect = false; // it answered
    if (answer.value.type === "accept") first = readReply();
  }
  const reply = await settle(first, deadline - deps.clock());
  if (reply === "timeout" || reply === "woken") return await failed("backend_timeout");
  if ("error" in reply) {
    if (reply.error instanceof ZtnaError) return await failed(reply.error.code);
    return await lost();
  }
  if (reply.value.type !== "reply") return await failed("protocol_error");
  return {
    kind: "opened",
    pool,
    flowId,
    reply: reply.value,
    connector: reader,
    connectorWriter: writer,
  };
}

/** The policy decision for admission, as an optional field of its state. */
function policyOf(peer: PolicyPeer, service: string): { policy?: PolicyDecision } {
  const policy = peer.decidePolicy?.(service);
  return policy === undefined ? {} : { policy };
}

/** Serves one client stream to completion; never throws. */
export async function relayClientFlow(
  stream: Bidi,
  identity: Identity,
  peer: DatagramPeer & PendingOpens & PolicyPeer,
  deps: FlowDeps,
  log: Logger,
): Promise<void> {
  const client = new ChunkReader(stream.readable);
  const clientWriter = stream.writable.getWriter();
  let service = "?";
  /** One refusal of this flow: counted, kept for the dashboard, logged with `message`. */
  const refused = (
    code: ErrorCode | "unknown",
    message = "Refused flow to {service}: {code}",
    properties: Record<string, unknown> = {},
    rule?: string,
  ) =>
    deps.observer.refuse({
      ...(rule === undefined ? {} : { rule }),
      // A code from a newer connector is counted as "unknown" and kept as internal.
      code: code === "unknown" ? "internal" : code,
      label: code,
      counter: deps.metrics.flowsRefused,
      identity: identity.subject,
      service,
      message,
      properties: { service, code, ...properties },
      logger: log,
    });
  let member: ConnectorMember | undefined;
  deps.metrics.activeFlows++;
  let pending = true;
  peer.pendingOpens++;
  const settled = () => {
    if (pending) peer.pendingOpens--;
    pending = false;
  };
  try {
    const open = await withTimeout(
      client.readHeader((b) => decodeHeader(b, "open")),
      deps.headerTimeoutMs,
      "protocol_error",
      "OPEN header",
    );
    service = open.service;
    const protocol = open.protocol;
    let choice = admitFlow({
      identity,
      service,
      protocol,
      draining: deps.draining(),
      activeFlows: deps.metrics.activeFlows,
      maxFlows: deps.maxFlows,
      rateAllowed: deps.allowFlowOpen(identity.subject),
      invalid: deps.stillValid(identity),
      nowMs: deps.clock(),
      pools: deps.registry,
      uptimeMs: deps.uptimeMs(),
      graceMs: deps.registrationGraceMs,
      ...policyOf(peer, service),
    });
    if (!choice.allow && choice.rateLimit) deps.metrics.rateLimited.inc(choice.rateLimit);
    const tried = new Set<string>();
    const waitUntil = deps.clock() + deps.connectorWaitMs;
    const nextMember = () =>
      admitMember({
        service,
        protocol,
        pools: deps.registry,
        exclude: tried,
        uptimeMs: deps.uptimeMs(),
        graceMs: deps.registrationGraceMs,
      });
    let opened: Opened | undefined;
    while (!opened) {
      if (!choice.allow && mayWaitForConnector(choice, waitUntil - deps.clock())) {
        // Empty pool: a connector restarting, or all of them re-homing after a relay restart.
        await registration(deps, waitUntil - deps.clock());
        choice = nextMember();
        continue;
      }
      if (!choice.allow) {
        refused(
          choice.code,
          "Refused flow to {service}: {code} ({why})",
          { why: choice.why },
          choice.rule,
        );
        return await refuse(clientWriter, client, choice.code);
      }
      const candidate = choice.member;
      candidate.activeFlows++;
      const attempt = await openOn(
        candidate,
        choice.pool,
        tried,
        {
          service,
          identity: identity.subject,
          protocol,
          flowId: deps.nextFlowId(),
        },
        deps,
        log,
      );
      if (attempt.kind === "opened") {
        opened = attempt;
        member = candidate;
        break;
      }
      candidate.activeFlows--;
      if (attempt.kind === "failed") {
        refused(attempt.code, "Flow {flowId} to {service} failed: {code}", {
          flowId: attempt.flowId,
          connector: candidate.connId,
        });
        return await refuse(clientWriter, client, attempt.code);
      }
      tried.add(candidate.connId);
      deps.metrics.flowRetries.inc(attempt.why);
      log.info("Flow to {service}: connector {connector} did not take it ({why}); trying another", {
        service,
        connector: candidate.connId,
        why: attempt.why,
      });
      choice = nextMember();
    }
    const { pool, flowId, reply, connector, connectorWriter } = opened;
    const connected = member!;
    try {
      const code = reply.code;
      settled();
      await clientWriter.write(encodeHeader({ type: "reply", code, flowId }));
      if (code !== "ok") {
        refused(code, "Flow {flowId} to {service} failed at the connector: {code}", { flowId });
        await clientWriter.close().catch(() => {});
        await client.cancel(code);
        await connectorWriter.close().catch(() => {});
        return;
      }
      deps.metrics.flowsOpened.inc(pool);
      // A UDP flow's streams carry no payload; they only mark its lifetime. Its datagrams are
      // routed by the per-connection tables for as long as both streams stay open.
      const unlink = protocol === "udp" ? linkUdpFlow(flowId, peer, connected) : () => {};
      // A policy reload that takes this service away ends the flow: both streams reset.
      const untrack = peer.trackFlow?.({
        service,
        close: (code) => {
          void clientWriter.abort(code).catch(() => {});
          void connectorWriter.abort(code).catch(() => {});
          void client.cancel(code).catch(() => {});
          void connector.cancel(code).catch(() => {});
        },
      });
      log.debug("Flow {flowId} to {service} via {connector}", {
        flowId,
        service,
        connector: connected.connId,
      });
      const pumps = [
        forward(client, connectorWriter, (n) => {
          deps.metrics.bytes.inc("to_connector", n);
          peer.bytesFromPeer += n;
          connected.bytesToPeer += n;
        }),
        forward(connector, clientWriter, (n) => {
          deps.metrics.bytes.inc("to_client", n);
          connected.bytesFromPeer += n;
          peer.bytesToPeer += n;
        }),
      ];
      try {
        if (protocol === "udp") {
          // Either side ending (idle expiry, close) ends the whole UDP flow.
          await Promise.race(pumps);
          unlink();
          await Promise.all([
            clientWriter.close().catch(() => {}),
            connectorWriter.close().catch(() => {}),
          ]);
          await Promise.all([client.cancel("udp flow ended"), connector.cancel("udp flow ended")]);
        }
        await Promise.all(pumps);
      } finally {
        unlink();
        untrack?.();
      }
      log.debug("Flow {flowId} closed", { flowId });
    } catch (e) {
      const code = e instanceof ZtnaError ? e.code : "backend_unreachable";
      refused(code, "Flow {flowId} to {service} failed: {code}", { flowId });
      await clientWriter.write(encodeHeader({ type: "reply", code, flowId })).catch(() => {});
      await clientWriter.close().catch(() => {});
      await client.cancel(code);
      await connectorWriter.close().catch(() => {});
      await connector.cancel(code);
    }
  } catch (e) {
    const code = e instanceof ZtnaError ? e.code : "protocol_error";
    deps.metrics.protocolErrors.inc(code);
    log.warn("Closed a malformed flow stream: {code}", { code, service });
    await refuse(clientWriter, client, code);
  } finally {
    settled();
    deps.metrics.activeFlows--;
    if (member) member.activeFlows--;
  }
}
