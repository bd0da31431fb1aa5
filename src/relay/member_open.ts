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
import type { ConnectorMember, FlowDeps } from "./flow_relay.ts";
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

/**
 * Offers a flow to one pool member: a stream, FLOW, then (protocol 3) ACCEPT within the accept
 * deadline — past it, when another member could take the flow, this one is suspect and the flow
 * moves on; with nobody else it keeps waiting, and moves as soon as another member registers —
 * then the REPLY within the open deadline. A member whose connection cannot take the stream is
 * dropped from every pool at once.
 */
export async function openOn(
  member: ConnectorMember,
  pool: string,
  tried: ReadonlySet<string>,
  header: { service: string; identity: string; protocol: "udp" | undefined; flowId: number },
  deps: FlowDeps,
  log: Logger,
): Promise<Attempt> {
  let upstream: ByteStream;
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
