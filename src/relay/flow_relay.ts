/**
 * One client flow through the relay, from its stream's first byte to its end: read OPEN within the
 * header deadline, take the flow to a member of the service's pool (pool_open.ts: the admission
 * decision, then each member in turn, member_open.ts), relay the member's REPLY, then splice both
 * directions byte for byte (flow_splice.ts). A flow that does not go through leaves by one exit
 * ({@link refuseFlow}): reported once to the relay's refusal observer, then both streams ended.
 *
 * A member that does not take the flow — its connection is gone, or (protocol 3) it sends no
 * ACCEPT within the accept deadline while another member could — is left for the next one before
 * the client hears anything: until the REPLY no client byte is forwarded, so nothing has reached a
 * backend. A flow that finds no member waits a bounded time for a connector to register.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Identity } from "../auth/mod.ts";
import { decodeHeader, encodeHeader, type ErrorCode, ZtnaError } from "../protocol/mod.ts";
import { deadline, TIMED_OUT } from "../runtime/mod.ts";
import { ChunkReader } from "../transport/mod.ts";
import type { ConnectorMember, FlowDeps, PolicyPeer } from "./flow_deps.ts";
import { splice } from "./flow_splice.ts";
import { type FlowOpen, type FlowRefusal, openOnPool, type Taken } from "./pool_open.ts";
import type { DatagramPeer } from "./udp_links.ts";

// The flow's deps and peers, for the session that serves client flows (peer_session.ts).
export type { ConnectorMember, FlowDeps } from "./flow_deps.ts";

type Bidi = { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };

/** One end of a flow: its stream, read and written. */
interface End {
  reader: ChunkReader;
  writer: WritableStreamDefaultWriter<Uint8Array>;
}

/** A client flow as its exits see it: who, to what (known once OPEN is read), and the relay. */
interface ClientFlow {
  client: End;
  identity: Identity;
  service: string;
  deps: FlowDeps;
  log: Logger;
}

/** How the streams of a flow that does not go through end. */
interface Ending {
  /** The flow id of the REPLY the client gets first; absent when it already has its REPLY. */
  flowId?: number;
  /** The connector's stream, once opened: closed, and also cancelled when `cancel`. */
  connector?: End & { cancel: boolean };
}

/** Ends both streams of a flow that does not go through, with `code` in the REPLY and cancels. */
async function endStreams(client: End, code: ErrorCode | "unknown", ending: Ending) {
  if (ending.flowId !== undefined) {
    const reply = encodeHeader({ type: "reply", code, flowId: ending.flowId });
    await client.writer.write(reply).catch(() => {});
  }
  await client.writer.close().catch(() => {});
  await client.reader.cancel(code);
  if (ending.connector === undefined) return;
  await ending.connector.writer.close().catch(() => {});
  if (ending.connector.cancel) await ending.connector.reader.cancel(code);
}

/**
 * The exit of a refused or failed flow: counted, recorded and logged once by the relay's observer
 * (with `r.message`), then both streams ended with `code`.
 */
async function refuseFlow(
  flow: ClientFlow,
  r: FlowRefusal,
  code: ErrorCode | "unknown",
  ending: Ending,
): Promise<void> {
  const { service, deps } = flow;
  deps.observer.refuse({
    ...(r.rule === undefined ? {} : { rule: r.rule }),
    // A code from a newer connector is counted as "unknown" and kept as internal.
    code: r.code === "unknown" ? "internal" : r.code,
    label: r.code,
    counter: deps.metrics.flowsRefused,
    identity: flow.identity.subject,
    service,
    message: r.message,
    properties: { service, code: r.code, ...r.properties },
    logger: flow.log,
  });
  await endStreams(flow.client, code, ending);
}

/** The OPEN header, within `ms`. @throws {ZtnaError} `protocol_error` when late or malformed */
async function readOpen(client: ChunkReader, ms: number) {
  const open = await deadline(client.readHeader((b) => decodeHeader(b, "open")), ms);
  if (open === TIMED_OUT) {
    throw new ZtnaError("protocol_error", `OPEN header not received within ${ms} ms`);
  }
  return open;
}

/**
 * Relays the member's REPLY to the client, then splices the flow when it is `ok`; a REPLY with an
 * error, or a failure on the way (the splice's own included), is a refusal exit.
 */
async function relayOpened(
  flow: ClientFlow,
  f: FlowOpen,
  taken: Taken,
  peer: DatagramPeer & PolicyPeer,
): Promise<void> {
  const { client, deps, log } = flow;
  const { pool, flowId, reply, connector, connectorWriter } = taken.opened;
  const upstream = { reader: connector, writer: connectorWriter };
  try {
    const code = reply.code;
    await client.writer.write(encodeHeader({ type: "reply", code, flowId }));
    if (code !== "ok") {
      const message = "Flow {flowId} to {service} failed at the connector: {code}";
      const failure = { code, message, properties: { flowId } };
      return await refuseFlow(flow, failure, code, { connector: { ...upstream, cancel: false } });
    }
    deps.metrics.flowsOpened.inc(pool);
    log.debug("Flow {flowId} to {service} via {connector}", {
      flowId,
      service: f.service,
      connector: taken.member.connId,
    });
    await splice(
      { ...f, flowId },
      { client: client.reader, clientWriter: client.writer, connector, connectorWriter },
      peer,
      taken.member,
      deps,
    );
    log.debug("Flow {flowId} closed", { flowId });
  } catch (e) {
    const code = e instanceof ZtnaError ? e.code : "backend_unreachable";
    const failure = {
      code,
      message: "Flow {flowId} to {service} failed: {code}",
      properties: { flowId },
    };
    await refuseFlow(flow, failure, code, { flowId, connector: { ...upstream, cancel: true } });
  }
}

/** Serves one client stream to completion; never throws. */
export async function relayClientFlow(
  stream: Bidi,
  identity: Identity,
  peer: DatagramPeer & PolicyPeer,
  deps: FlowDeps,
  log: Logger,
): Promise<void> {
  const client = { reader: new ChunkReader(stream.readable), writer: stream.writable.getWriter() };
  const flow: ClientFlow = { client, identity, service: "?", deps, log };
  let member: ConnectorMember | undefined;
  deps.metrics.activeFlows++;
  const settled = peer.counters.beginOpen();
  try {
    const open = await readOpen(client.reader, deps.headerTimeoutMs);
    flow.service = open.service;
    const f: FlowOpen = { identity, service: open.service, protocol: open.protocol };
    const taken = await openOnPool(f, peer, deps, log);
    if (!("opened" in taken)) {
      const code = taken.code === "unknown" ? "internal" : taken.code;
      return await refuseFlow(flow, taken, code, { flowId: 0 });
    }
    member = taken.member;
    settled();
    await relayOpened(flow, f, taken, peer);
  } catch (e) {
    const code = e instanceof ZtnaError ? e.code : "protocol_error";
    deps.metrics.protocolErrors.inc(code);
    log.warn("Closed a malformed flow stream: {code}", { code, service: flow.service });
    await endStreams(client, code, { flowId: 0 });
  } finally {
    settled();
    deps.metrics.activeFlows--;
    if (member) member.activeFlows--;
  }
}
