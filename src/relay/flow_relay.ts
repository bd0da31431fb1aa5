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
import { decodeHeader, encodeHeader, type ErrorCode, ZtnaError } from "../protocol/mod.ts";
import type { RelayMetrics } from "./relay_metrics.ts";
import type { ConnectorRegistry, PoolMember } from "./registry.ts";
import { type DatagramPeer, linkUdpFlow } from "./udp_links.ts";
import type { BrokerPeer } from "./direct_broker.ts";
import { admitFlow, admitMember, mayWaitForConnector } from "./admission.ts";
import type { RefusalObserver } from "./refusal_observer.ts";
import { type Opened, openOn, registration } from "./member_open.ts";
import type { PolicyDecision } from "../policy/mod.ts";
import { ChunkReader } from "../transport/mod.ts";
import type { PeerLink } from "../transport/mod.ts";

/** Byte counts of one peer connection, for the admin view. */
export interface ByteCounters {
  /** Payload bytes received from this peer and relayed on. */
  bytesFromPeer: number;
  /** Payload bytes relayed to this peer. */
  bytesToPeer: number;
}

/** A connector connection as a pool member. */
export interface ConnectorMember extends PoolMember, ByteCounters, DatagramPeer, BrokerPeer {
  readonly conn: PeerLink;
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

/** The policy decision for admission, as an optional field of its state. */
function policyOf(peer: PolicyPeer, service: string): { policy?: PolicyDecision } {
  const policy = peer.decidePolicy?.(service);
  return policy === undefined ? {} : { policy };
}

/** A refusal of one flow, as the observer reports it. */
interface FlowRefusal {
  code: ErrorCode | "unknown";
  message: string;
  properties: Record<string, unknown>;
  rule?: string;
}

/** What a flow knows once its OPEN is read. */
interface FlowOpen {
  identity: Identity;
  service: string;
  protocol: "udp" | undefined;
}

/**
 * Admits the flow and offers it to the members of its pool in turn until one takes it (see
 * member_open.ts); waits for a connector while the pool is empty and the wait allows. Returns the
 * opened stream and its member, or the refusal the client gets.
 */
async function openOnPool(
  f: FlowOpen,
  peer: PolicyPeer,
  deps: FlowDeps,
  log: Logger,
): Promise<{ opened: Opened; member: ConnectorMember } | FlowRefusal> {
  const { identity, service, protocol } = f;
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
  while (true) {
    if (!choice.allow && mayWaitForConnector(choice, waitUntil - deps.clock())) {
      // Empty pool: a connector restarting, or all of them re-homing after a relay restart.
      await registration(deps, waitUntil - deps.clock());
      choice = nextMember();
      continue;
    }
    if (!choice.allow) {
      return {
        code: choice.code,
        message: "Refused flow to {service}: {code} ({why})",
        properties: { why: choice.why },
        ...(choice.rule === undefined ? {} : { rule: choice.rule }),
      };
    }
    const candidate = choice.member;
    candidate.activeFlows++;
    const attempt = await openOn(
      candidate,
      choice.pool,
      tried,
      { service, identity: identity.subject, protocol, flowId: deps.nextFlowId() },
      deps,
      log,
    );
    if (attempt.kind === "opened") return { opened: attempt, member: candidate };
    candidate.activeFlows--;
    if (attempt.kind === "failed") {
      return {
        code: attempt.code,
        message: "Flow {flowId} to {service} failed: {code}",
        properties: { flowId: attempt.flowId, connector: candidate.connId },
      };
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
}

/** Both halves of a flow once its member answered `ok`: client ↔ connector. */
interface Halves {
  client: ChunkReader;
  clientWriter: WritableStreamDefaultWriter<Uint8Array>;
  connector: ChunkReader;
  connectorWriter: WritableStreamDefaultWriter<Uint8Array>;
}

/**
 * Splices an opened flow byte for byte, counting bytes for the relay and both peers, until both
 * directions end; a UDP flow (no payload on its streams) ends when either side does, and its
 * datagrams are routed meanwhile. A policy reload that takes the service away resets both streams.
 */
async function splice(
  f: FlowOpen & { flowId: number },
  h: Halves,
  peer: DatagramPeer & PolicyPeer,
  connected: ConnectorMember,
  deps: FlowDeps,
): Promise<void> {
  const { client, clientWriter, connector, connectorWriter } = h;
  const unlink = f.protocol === "udp" ? linkUdpFlow(f.flowId, peer, connected) : () => {};
  const untrack = peer.trackFlow?.({
    service: f.service,
    close: (code) => {
      void clientWriter.abort(code).catch(() => {});
      void connectorWriter.abort(code).catch(() => {});
      void client.cancel(code).catch(() => {});
      void connector.cancel(code).catch(() => {});
    },
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
    if (f.protocol === "udp") {
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
  const refused = (r: FlowRefusal) =>
    deps.observer.refuse({
      ...(r.rule === undefined ? {} : { rule: r.rule }),
      // A code from a newer connector is counted as "unknown" and kept as internal.
      code: r.code === "unknown" ? "internal" : r.code,
      label: r.code,
      counter: deps.metrics.flowsRefused,
      identity: identity.subject,
      service,
      message: r.message,
      properties: { service, code: r.code, ...r.properties },
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
    const f: FlowOpen = { identity, service, protocol: open.protocol };
    const taken = await openOnPool(f, peer, deps, log);
    if (!("opened" in taken)) {
      refused(taken);
      return await refuse(clientWriter, client, taken.code === "unknown" ? "internal" : taken.code);
    }
    member = taken.member;
    const { pool, flowId, reply, connector, connectorWriter } = taken.opened;
    try {
      const code = reply.code;
      settled();
      await clientWriter.write(encodeHeader({ type: "reply", code, flowId }));
      if (code !== "ok") {
        refused({
          code,
          message: "Flow {flowId} to {service} failed at the connector: {code}",
          properties: { flowId },
        });
        await clientWriter.close().catch(() => {});
        await client.cancel(code);
        await connectorWriter.close().catch(() => {});
        return;
      }
      deps.metrics.flowsOpened.inc(pool);
      log.debug("Flow {flowId} to {service} via {connector}", {
        flowId,
        service,
        connector: member.connId,
      });
      await splice(
        { ...f, flowId },
        { client, clientWriter, connector, connectorWriter },
        peer,
        member,
        deps,
      );
      log.debug("Flow {flowId} closed", { flowId });
    } catch (e) {
      const code = e instanceof ZtnaError ? e.code : "backend_unreachable";
      refused({
        code,
        message: "Flow {flowId} to {service} failed: {code}",
        properties: { flowId },
      });
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
