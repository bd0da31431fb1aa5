/**
 * Offering a flow to one connector of a pool: a stream, FLOW, then (protocol 3) ACCEPT within the
 * accept deadline and REPLY within the open deadline. A member that stays silent while another
 * could take the flow is marked suspect and the flow moves on; a member whose connection cannot
 * take a stream leaves every pool at once; an empty pool is waited on until a connector registers.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import {
  type AcceptHeader,
  decodeAcceptOrReply,
  decodeHeader,
  encodeHeader,
  type ErrorCode,
  type ReplyHeader,
  ZtnaError,
} from "../protocol/mod.ts";
import { ChunkReader } from "../transport/mod.ts";
import type { ConnectorMember, FlowDeps } from "./flow_deps.ts";
import type { ByteStream, PeerLink } from "../transport/mod.ts";

/** A member's REPLY to FLOW, and the stream to splice when it is `ok`. */
export interface Opened {
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
export type Attempt =
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
export function registration(deps: FlowDeps, ms: number, signal?: AbortSignal): Promise<void> {
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
async function isClosed(conn: PeerLink): Promise<boolean> {
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

/** A FLOW sent on a member's new stream: what every way the attempt ends works on. */
interface Offer {
  member: ConnectorMember;
  reader: ChunkReader;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  flowId: number;
  /** When the REPLY is due (`deps.clock()` time). */
  deadline: number;
}

/** The stream ended without an answer: only the stream, or the whole connection (it leaves). */
async function lost(o: Offer, deps: FlowDeps): Promise<Attempt> {
  await o.writer.close().catch(() => {});
  await o.reader.cancel("connection lost");
  if (!(await isClosed(o.member.conn))) return { kind: "next", why: "stream_ended" };
  deps.dropMember(o.member, "its connection closed");
  return { kind: "next", why: "connection_lost" };
}

/** The flow fails with `code`: the client hears it, no other member is tried. */
async function failed(o: Offer, code: ErrorCode): Promise<Attempt> {
  await o.writer.close().catch(() => {});
  await o.reader.cancel(code);
  return { kind: "failed", code, flowId: o.flowId };
}

/** An answer that broke: a typed error (a refusal, a bad header) fails the flow, else it is lost. */
function broken(o: Offer, error: unknown, deps: FlowDeps): Promise<Attempt> {
  return error instanceof ZtnaError ? failed(o, error.code) : lost(o, deps);
}

/** A new stream on the member's connection, or why the flow moves on without one. */
async function openStream(
  member: ConnectorMember,
  deps: FlowDeps,
): Promise<ByteStream | { kind: "next"; why: NotTaken }> {
  try {
    return await member.conn.createBidirectionalStream();
  } catch (e) {
    // Deno 2.9.6 throws RangeError when the peer allows no more streams: full, not gone.
    if (e instanceof RangeError) return { kind: "next", why: "streams_exhausted" };
    deps.dropMember(member, "its connection cannot open a stream");
    return { kind: "next", why: "connection_lost" };
  }
}

/**
 * Protocol 3: waits for the member's first answer (ACCEPT, or an early REPLY) within the accept
 * deadline. Past it, when another member of `pool` not yet `tried` could take the flow, this one
 * is suspect and the flow moves on; with nobody else it keeps waiting until the REPLY deadline,
 * looking again whenever a member registers. Returns the answer, or how the attempt ended.
 */
async function awaitAccept(
  o: Offer,
  first: Promise<AcceptHeader | ReplyHeader>,
  others: { pool: string; tried: ReadonlySet<string> },
  deps: FlowDeps,
  log: Logger,
): Promise<Attempt | { answer: AcceptHeader | ReplyHeader }> {
  let answer = await settle(first, deps.acceptTimeoutMs);
  while (answer === "timeout" || answer === "woken") {
    if (deps.registry.hasOther(others.pool, new Set([...others.tried, o.member.connId]))) {
      suspect(o.member, first, { reader: o.reader, writer: o.writer }, deps, log);
      return { kind: "next", why: "no_accept" };
    }
    // Nobody else to try: a slow but live connector still serves the flow. Look again when a
    // member registers (a restarted connector, while this one may be dead).
    const left = o.deadline - deps.clock();
    if (left <= 0) return await failed(o, "backend_timeout");
    const stop = new AbortController();
    answer = await settle(first, left, registration(deps, left, stop.signal));
    stop.abort();
  }
  if ("error" in answer) return await broken(o, answer.error, deps);
  return { answer: answer.value };
}

/**
 * Offers a flow to one pool member: a stream, FLOW, then (protocol 3) ACCEPT within the accept
 * deadline (see {@link awaitAccept}), then the REPLY within the open deadline. A member whose
 * connection cannot take the stream is dropped from every pool at once.
 */
export async function openOn(
  member: ConnectorMember,
  pool: string,
  tried: ReadonlySet<string>,
  header: { service: string; identity: string; protocol: "udp" | undefined; flowId: number },
  deps: FlowDeps,
  log: Logger,
): Promise<Attempt> {
  const upstream = await openStream(member, deps);
  if ("kind" in upstream) return upstream;
  const { flowId } = header;
  const o: Offer = {
    member,
    reader: new ChunkReader(upstream.readable),
    writer: upstream.writable.getWriter(),
    flowId,
    deadline: deps.clock() + deps.openTimeoutMs,
  };
  try {
    await o.writer.write(
      encodeHeader(
        header.protocol === "udp"
          ? { type: "flow", ...header, protocol: "udp" }
          : { type: "flow", flowId, service: header.service, identity: header.identity },
      ),
    );
  } catch {
    return await lost(o, deps);
  }
  const readReply = () => o.reader.readHeader((b) => decodeHeader(b, "reply"));
  let first: Promise<AcceptHeader | ReplyHeader> = member.sendsAccept
    ? o.reader.readHeader(decodeAcceptOrReply)
    : readReply();
  first.catch(() => {}); // settled below, or watched by suspect()
  if (member.sendsAccept) {
    const accepted = await awaitAccept(o, first, { pool, tried }, deps, log);
    if (!("answer" in accepted)) return accepted;
    member.suspect = false; // it answered
    if (accepted.answer.type === "accept") first = readReply();
  }
  const reply = await settle(first, o.deadline - deps.clock());
  if (reply === "timeout" || reply === "woken") return await failed(o, "backend_timeout");
  if ("error" in reply) return await broken(o, reply.error, deps);
  if (reply.value.type !== "reply") return await failed(o, "protocol_error");
  return {
    kind: "opened",
    pool,
    flowId,
    reply: reply.value,
    connector: o.reader,
    connectorWriter: o.writer,
  };
}
