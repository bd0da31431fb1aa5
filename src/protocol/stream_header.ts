/**
 * Headers that open every flow stream: OPEN (client → relay), FLOW (relay → connector), ACCEPT
 * (connector → relay, protocol 3: the FLOW arrived) and REPLY (back the other way). Pure: no I/O. Byte layout: docs/PROTOCOL.md, "Flow streams".
 * @module
 */
import { SERVICE_ID_PATTERN } from "./service_id.ts";
import { MAX_IDENTITY_BYTES } from "./constants.ts";
import { codeFromWire, type ErrorCode, ERRORS } from "./errors.ts";

/** Header type bytes; distinct from data-frame types so a misrouted stream is caught at once. */
export const HEADER_TYPE = { open: 0x10, flow: 0x11, reply: 0x12, accept: 0x15 } as const;

/** Type bytes of the UDP variants of OPEN and FLOW (same layout; the stream then only marks the
 * flow's lifetime, payload travels in datagrams). */
export const UDP_HEADER_TYPE = { open: 0x13, flow: 0x14 } as const;

/** Client → relay: open a TCP flow to a service. */
export interface OpenHeader {
  type: "open";
  service: string;
  /** Absent for TCP. */
  protocol?: "udp";
}
/** Relay → connector: serve this flow. */
export interface FlowHeader {
  type: "flow";
  flowId: number;
  service: string;
  identity: string;
  /** Absent for TCP. */
  protocol?: "udp";
}
/** Answer to OPEN or FLOW: `code` is "ok" or why the flow was refused. */
export interface ReplyHeader {
  type: "reply";
  code: ErrorCode | "ok" | "unknown";
  flowId: number;
}
/**
 * Connector → relay, protocol 3 only: the FLOW header arrived and the connector is dialing the
 * backend. Lets the relay tell a dead pool member (no ACCEPT) from a slow backend (ACCEPT, then a
 * late REPLY) long before the REPLY deadline.
 */
export interface AcceptHeader {
  type: "accept";
  flowId: number;
}
export type StreamHeader = OpenHeader | FlowHeader | ReplyHeader | AcceptHeader;

/** Result of decoding a header from the front of a buffer. */
export type HeaderDecoded<T> =
  | { kind: "header"; header: T; used: number }
  | { kind: "incomplete" }
  | { kind: "error"; code: "protocol_error" | "invalid_service_id"; why: string };

const enc = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function readString(buf: Uint8Array, at: number, len: number): string | null {
  try {
    return strictUtf8.decode(buf.subarray(at, at + len));
  } catch {
    return null;
  }
}

/** Encodes a header. @throws {RangeError} on an invalid service id or identity (our own bug). */
export function encodeHeader(h: StreamHeader): Uint8Array {
  switch (h.type) {
    case "open": {
      const svc = serviceBytes(h.service);
      const type = h.protocol === "udp" ? UDP_HEADER_TYPE.open : HEADER_TYPE.open;
      return Uint8Array.of(type, svc.length, ...svc);
    }
    case "flow": {
      const svc = serviceBytes(h.service);
      const id = enc.encode(h.identity);
      if (id.length > MAX_IDENTITY_BYTES) {
        throw new RangeError(`Cannot encode identity as it is over ${MAX_IDENTITY_BYTES} bytes`);
      }
      const out = new Uint8Array(1 + 4 + 1 + svc.length + 1 + id.length);
      const dv = new DataView(out.buffer);
      out[0] = h.protocol === "udp" ? UDP_HEADER_TYPE.flow : HEADER_TYPE.flow;
      dv.setUint32(1, h.flowId);
      out[5] = svc.length;
      out.set(svc, 6);
      out[6 + svc.length] = id.length;
      out.set(id, 7 + svc.length);
      return out;
    }
    case "accept": {
      const out = new Uint8Array(5);
      out[0] = HEADER_TYPE.accept;
      new DataView(out.buffer).setUint32(1, h.flowId);
      return out;
    }
    case "reply": {
      const out = new Uint8Array(7);
      const dv = new DataView(out.buffer);
      out[0] = HEADER_TYPE.reply;
      dv.setUint16(
        1,
        h.code === "ok" ? 0 : h.code === "unknown" ? ERRORS.internal.wire : ERRORS[h.code].wire,
      );
      dv.setUint32(3, h.flowId);
      return out;
    }
  }
}

function serviceBytes(service: string): Uint8Array {
  if (!SERVICE_ID_PATTERN.test(service)) {
    throw new RangeError(`Cannot encode service id "${service}" as it does not match the rules`);
  }
  return enc.encode(service);
}

/** Decodes the header a stream of kind `expect` starts with. */
export function decodeHeader<K extends StreamHeader["type"]>(
  buf: Uint8Array,
  expect: K,
): HeaderDecoded<Extract<StreamHeader, { type: K }>> {
  type Out = HeaderDecoded<Extract<StreamHeader, { type: K }>>;
  if (buf.byteLength < 1) return { kind: "incomplete" };
  const udp = (expect === "open" || expect === "flow") &&
    buf[0] === UDP_HEADER_TYPE[expect as "open" | "flow"];
  if (buf[0] !== HEADER_TYPE[expect] && !udp) {
    return {
      kind: "error",
      code: "protocol_error",
      why: `expected a ${expect} header, got type 0x${buf[0].toString(16)}`,
    };
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (expect === "accept") {
    if (buf.byteLength < 5) return { kind: "incomplete" };
    return {
      kind: "header",
      header: { type: "accept", flowId: dv.getUint32(1) },
      used: 5,
    } as Out;
  }
  if (expect === "reply") {
    if (buf.byteLength < 7) return { kind: "incomplete" };
    const wire = dv.getUint16(1);
    const code = wire === 0 ? "ok" : codeFromWire(wire) ?? "unknown";
    return {
      kind: "header",
      header: { type: "reply", code, flowId: dv.getUint32(3) },
      used: 7,
    } as Out;
  }
  let at = 1;
  let flowId = 0;
  if (expect === "flow") {
    if (buf.byteLength < 5) return { kind: "incomplete" };
    flowId = dv.getUint32(1);
    at = 5;
  }
  const service = readField(buf, at, "service");
  if (service.kind !== "field") return service;
  if (expect === "open") {
    const header: OpenHeader = udp
      ? { type: "open", service: service.text, protocol: "udp" }
      : { type: "open", service: service.text };
    return { kind: "header", header, used: service.next } as Out;
  }
  const identity = readField(buf, service.next, "identity");
  if (identity.kind !== "field") return identity;
  return {
    kind: "header",
    header: udp
      ? { type: "flow", flowId, service: service.text, identity: identity.text, protocol: "udp" }
      : { type: "flow", flowId, service: service.text, identity: identity.text },
    used: identity.next,
  } as Out;
}

/** A length-prefixed text field of a header: the text and where the next field starts. */
type Field =
  | { kind: "field"; text: string; next: number }
  | { kind: "incomplete" }
  | { kind: "error"; code: "invalid_service_id" | "protocol_error"; why: string };

/** Reads the service id (1..63 bytes, the id rule) or the identity (UTF-8, bounded) at `at`. */
function readField(buf: Uint8Array, at: number, which: "service" | "identity"): Field {
  if (buf.byteLength < at + 1) return { kind: "incomplete" };
  const len = buf[at];
  if (which === "service" && (len < 1 || len > 63)) {
    return {
      kind: "error",
      code: "invalid_service_id",
      why: `service id length ${len} out of 1..63`,
    };
  }
  if (which === "identity" && len > MAX_IDENTITY_BYTES) {
    return { kind: "error", code: "protocol_error", why: "identity too long" };
  }
  if (buf.byteLength < at + 1 + len) return { kind: "incomplete" };
  const text = readString(buf, at + 1, len);
  if (which === "service" && (text === null || !SERVICE_ID_PATTERN.test(text))) {
    return {
      kind: "error",
      code: "invalid_service_id",
      why: "service id does not match the rules",
    };
  }
  if (text === null) return { kind: "error", code: "protocol_error", why: "identity is not UTF-8" };
  return { kind: "field", text, next: at + 1 + len };
}

/**
 * Decodes what a protocol-3 connector answers a FLOW with first: ACCEPT, or a REPLY straight away
 * (e.g. a malformed FLOW it could not accept).
 */
export function decodeAcceptOrReply(
  buf: Uint8Array,
): HeaderDecoded<AcceptHeader | ReplyHeader> {
  if (buf.byteLength >= 1 && buf[0] === HEADER_TYPE.accept) return decodeHeader(buf, "accept");
  return decodeHeader(buf, "reply");
}
