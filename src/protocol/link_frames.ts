/**
 * The TLS-over-TCP transport's own bytes (ALPN `ztna-tcp/1`): the preamble every TLS connection
 * starts with (magic, version, kind, and for flow connections the link key), and the frames of a
 * link's MAIN connection (u8 type, u24 length, payload). Pure: no I/O. Byte layout:
 * docs/PROTOCOL.md, "TCP transport".
 * @module
 */

/** ALPN of the TCP transport: a different protocol on the wire than QUIC's `ztna-v2`. */
export const ALPN_TCP = "ztna-tcp/1";

/** First bytes of every TCP-transport connection ("ZTCP"): garbage is told apart at once. */
export const PREAMBLE_MAGIC = new Uint8Array([0x5a, 0x54, 0x43, 0x50]);

/** Version of the preamble and frame layout; another value is refused with protocol_error. */
export const LINK_VERSION = 1;

/** Bytes of a link key: 128 random bits, a bearer secret for the life of its MAIN connection. */
export const LINK_KEY_BYTES = 16;

/** Largest MAIN-connection frame payload: a whole UDP datagram (64 KiB) plus a little. */
export const MAX_LINK_FRAME = 64 * 1024 + 64;

/** Largest datagram a TCP link carries (a UDP payload never exceeds 65,507 bytes). */
export const TCP_MAX_DATAGRAM = 64 * 1024;

/** Control-stream bytes per CONTROL frame a sender writes. */
export const CONTROL_CHUNK = 16 * 1024;

/** Header of a MAIN-connection frame: u8 type, u24 big-endian payload length. */
export const LINK_FRAME_HEADER = 4;

/** Longest CLOSE reason carried (longer ones are cut by the sender). */
export const MAX_CLOSE_REASON = 256;

/** What a TCP-transport connection is for. */
export type PreambleKind = "main" | "stream" | "offer";

const KIND_BYTE: Record<PreambleKind, number> = { main: 1, stream: 2, offer: 3 };
const KIND_OF = new Map<number, PreambleKind>([[1, "main"], [2, "stream"], [3, "offer"]]);

/** A decoded preamble. */
export type Preamble = { kind: "main" } | { kind: "stream" | "offer"; key: Uint8Array };

/** Result of {@link decodePreamble}: "need more bytes" is a state, not an error. */
export type PreambleDecoded =
  | { kind: "preamble"; preamble: Preamble; used: number }
  | { kind: "incomplete" }
  | { kind: "error"; code: "protocol_error"; why: string };

/** Bytes of a preamble. */
export function encodePreamble(p: Preamble): Uint8Array {
  const out = new Uint8Array(6 + (p.kind === "main" ? 0 : LINK_KEY_BYTES));
  out.set(PREAMBLE_MAGIC, 0);
  out[4] = LINK_VERSION;
  out[5] = KIND_BYTE[p.kind];
  if (p.kind !== "main") {
    if (p.key.byteLength !== LINK_KEY_BYTES) throw new RangeError("A link key has 16 bytes");
    out.set(p.key, 6);
  }
  return out;
}

/** Reads a preamble from the front of `buf`; checks every byte it has before asking for more. */
export function decodePreamble(buf: Uint8Array): PreambleDecoded {
  for (let i = 0; i < Math.min(buf.byteLength, PREAMBLE_MAGIC.byteLength); i++) {
    if (buf[i] !== PREAMBLE_MAGIC[i]) {
      return { kind: "error", code: "protocol_error", why: "magic" };
    }
  }
  if (buf.byteLength < 6) return { kind: "incomplete" };
  if (buf[4] !== LINK_VERSION) {
    return { kind: "error", code: "protocol_error", why: `version ${buf[4]}` };
  }
  const kind = KIND_OF.get(buf[5]);
  if (!kind) return { kind: "error", code: "protocol_error", why: `kind ${buf[5]}` };
  if (kind === "main") return { kind: "preamble", preamble: { kind }, used: 6 };
  if (buf.byteLength < 6 + LINK_KEY_BYTES) return { kind: "incomplete" };
  const key = buf.slice(6, 6 + LINK_KEY_BYTES);
  return { kind: "preamble", preamble: { kind, key }, used: 6 + LINK_KEY_BYTES };
}

/** Frame types of a MAIN connection. */
export const LINK_FRAME = {
  /** Bytes of the control stream (the link's first stream), in order. */
  control: 0x01,
  /** The control stream's end (a QUIC stream's FIN). */
  control_end: 0x02,
  /** One datagram (UDP flows over TCP). */
  datagram: 0x03,
  /** The link's close: u32 wire code, then the reason in UTF-8. */
  close: 0x04,
  /** Keep-alive probe; the peer answers PONG with the same payload (at most 8 bytes). */
  ping: 0x05,
  pong: 0x06,
  /** Relay → dialer, first frame: the link key and the stream credit (u32). */
  key: 0x07,
  /** Relay → connector: open this many (u16) more idle OFFER connections. */
  want: 0x08,
  /**
   * Dialer → relay: this link takes no new flows (its peer moved to QUIC); flows on it run to their
   * end, then the dialer closes it.
   */
  retire: 0x09,
} as const;

/** A frame type name. */
export type LinkFrameType = keyof typeof LINK_FRAME;

const TYPE_OF = new Map<number, LinkFrameType>(
  (Object.entries(LINK_FRAME) as [LinkFrameType, number][]).map(([k, v]) => [v, k]),
);

/** Result of {@link decodeLinkFrame}. */
export type LinkFrameDecoded =
  | { kind: "frame"; type: LinkFrameType; payload: Uint8Array; used: number }
  | { kind: "incomplete" }
  | { kind: "error"; code: "protocol_error" | "frame_too_large"; why: string };

/** Bytes of one frame. @throws {RangeError} when the payload is over {@link MAX_LINK_FRAME} */
export function encodeLinkFrame(type: LinkFrameType, payload: Uint8Array = new Uint8Array(0)) {
  if (payload.byteLength > MAX_LINK_FRAME) {
    throw new RangeError(`A link frame carries at most ${MAX_LINK_FRAME} bytes`);
  }
  const out = new Uint8Array(LINK_FRAME_HEADER + payload.byteLength);
  out[0] = LINK_FRAME[type];
  out[1] = payload.byteLength >>> 16;
  out[2] = (payload.byteLength >>> 8) & 0xff;
  out[3] = payload.byteLength & 0xff;
  out.set(payload, LINK_FRAME_HEADER);
  return out;
}

/** Expected payload sizes of the fixed-size frames: [min, max]. */
const SIZES: Partial<Record<LinkFrameType, [number, number]>> = {
  control_end: [0, 0],
  close: [4, 4 + MAX_CLOSE_REASON],
  ping: [0, 8],
  pong: [0, 8],
  key: [LINK_KEY_BYTES + 4, LINK_KEY_BYTES + 4],
  want: [2, 2],
  retire: [0, 0],
};

/** Reads one frame from the front of `buf`; the length is checked before any payload is kept. */
export function decodeLinkFrame(buf: Uint8Array): LinkFrameDecoded {
  if (buf.byteLength < 1) return { kind: "incomplete" };
  const type = TYPE_OF.get(buf[0]);
  if (!type) return { kind: "error", code: "protocol_error", why: `frame type ${buf[0]}` };
  if (buf.byteLength < LINK_FRAME_HEADER) return { kind: "incomplete" };
  const len = (buf[1] << 16) | (buf[2] << 8) | buf[3];
  if (len > MAX_LINK_FRAME) return { kind: "error", code: "frame_too_large", why: `${len} bytes` };
  const size = SIZES[type];
  if (size && (len < size[0] || len > size[1])) {
    return { kind: "error", code: "protocol_error", why: `${type} of ${len} bytes` };
  }
  if (buf.byteLength < LINK_FRAME_HEADER + len) return { kind: "incomplete" };
  const payload = buf.subarray(LINK_FRAME_HEADER, LINK_FRAME_HEADER + len);
  return { kind: "frame", type, payload, used: LINK_FRAME_HEADER + len };
}

/** CLOSE payload: the wire code and a reason cut to {@link MAX_CLOSE_REASON} bytes. */
export function encodeClose(closeCode: number, reason: string): Uint8Array {
  const text = new TextEncoder().encode(reason).subarray(0, MAX_CLOSE_REASON);
  const out = new Uint8Array(4 + text.byteLength);
  new DataView(out.buffer).setUint32(0, closeCode >>> 0);
  out.set(text, 4);
  return out;
}

/** Reads a CLOSE payload (its size was checked by {@link decodeLinkFrame}). */
export function decodeClose(payload: Uint8Array): { closeCode: number; reason: string } {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const reason = new TextDecoder("utf-8", { fatal: false }).decode(payload.subarray(4));
  return { closeCode: view.getUint32(0), reason };
}

/** KEY payload: the link key and the stream credit. */
export function encodeKey(key: Uint8Array, streamCredit: number): Uint8Array {
  const out = new Uint8Array(LINK_KEY_BYTES + 4);
  out.set(key, 0);
  new DataView(out.buffer).setUint32(LINK_KEY_BYTES, streamCredit >>> 0);
  return out;
}

/** Reads a KEY payload (size checked by {@link decodeLinkFrame}). */
export function decodeKey(payload: Uint8Array): { key: Uint8Array; streamCredit: number } {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return { key: payload.slice(0, LINK_KEY_BYTES), streamCredit: view.getUint32(LINK_KEY_BYTES) };
}

/** WANT payload: how many more offers. */
export function encodeWant(count: number): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, Math.min(0xffff, Math.max(0, count)));
  return out;
}

/** Reads a WANT payload. */
export function decodeWant(payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint16(0);
}
