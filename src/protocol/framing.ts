/**
 * Length-prefixed framing of control-stream messages: u32 big-endian length, then a UTF-8 JSON body.
 * Pure: no I/O. Byte layout: docs/PROTOCOL.md, "Control stream".
 * @module
 */
import { MAX_CONTROL_MESSAGE } from "./constants.ts";

/** Outcome of decoding the front of a buffer: "need more bytes" is a state, not an exception. */
export type Decoded =
  | { kind: "message"; body: Uint8Array; used: number }
  | { kind: "incomplete" }
  | { kind: "error"; code: "frame_too_large" | "protocol_error" };

/** Decodes one frame from the front of `buf`. */
export function decodeFrame(buf: Uint8Array, max = MAX_CONTROL_MESSAGE): Decoded {
  if (buf.byteLength < 4) return { kind: "incomplete" };
  const len = new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0);
  if (len === 0) return { kind: "error", code: "protocol_error" };
  if (len > max) return { kind: "error", code: "frame_too_large" };
  if (buf.byteLength < 4 + len) return { kind: "incomplete" };
  return { kind: "message", body: buf.subarray(4, 4 + len), used: 4 + len };
}

/** Encodes one frame. @throws {RangeError} when the body is empty or over `max` (our own bug). */
export function encodeFrame(body: Uint8Array, max = MAX_CONTROL_MESSAGE): Uint8Array {
  if (body.byteLength === 0 || body.byteLength > max) {
    throw new RangeError(
      `Cannot encode frame as its length must be between 1 and ${max}: current value is ${body.byteLength}`,
    );
  }
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, 4);
  return out;
}
