/**
 * One client flow through the relay: read OPEN, authorize, pick a connector of the service's pool,
 * open a stream to it, relay its REPLY, then splice both directions byte for byte.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Identity } from "../auth/mod.ts";
import { decodeHeader, encodeHeader, type ErrorCode, ZtnaError } from "../protocol/mod.ts";
import type { RelayMetrics } from "./relay_metrics.ts";
import type { ConnectorRegistry, PoolMember } from "./registry.ts";
import { type DatagramPeer, linkUdpFlow } from "./udp_links.ts";
import type { BrokerPeer } from "./direct_broker.ts";
import { admitFlow } from "./admission.ts";
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
}

/** What a flow needs from the relay. */
export interface FlowDeps {
  registry: ConnectorRegistry<ConnectorMember>;
  metrics: RelayMetrics;
  /** Checks revocation and expiry at open time, so a revoked token opens nothing more. */
  stillValid(identity: Identity): ErrorCode | undefined;
  nextFlowId(): number;
  headerTimeoutMs: number;
  openTimeoutMs: number;
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
    const admission = admitFlow({
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
      ...policyOf(peer, service),
    });
    if (!admission.allow) {
      if (admission.rateLimit) deps.metrics.rateLimited.inc(admission.rateLimit);
      refused(admission.code, undefined, undefined, admission.rule);
      return await refuse(clientWriter, client, admission.code);
    }
    const { pool } = admission;
    member = admission.member;
    member.activeFlows++;
    const connected = member;
    const flowId = deps.nextFlowId();
    const upstream = await member.conn.createBidirectionalStream().catch(() => null);
    if (!upstream) {
      refused("no_connector");
      return await refuse(clientWriter, client, "no_connector");
    }
    const connector = new ChunkReader(upstream.readable);
    const connectorWriter = upstream.writable.getWriter();
    try {
      await connectorWriter.write(
        encodeHeader({ type: "flow", flowId, service, identity: identity.subject, protocol }),
      );
      const reply = await withTimeout(
        connector.readHeader((b) => decodeHeader(b, "reply")),
        deps.openTimeoutMs,
        "backend_timeout",
        "connector REPLY",
      );
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
      const unlink = protocol === "udp" ? linkUdpFlow(flowId, peer, member) : () => {};
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
        connector: member.connId,
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
