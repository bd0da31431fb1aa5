/**
 * In-band framing of flow payload between the two endpoints (client and connector); the relay
 * forwards these bytes untouched. Needed because Deno 2.9.6 cannot send QUIC RESET_STREAM: aborting a
 * send stream finishes it, so a clean end must be explicit (END) and a stream that ends without END is
 * an abort. Pure: no I/O. Byte layout: docs/PROTOCOL.md, "Data frames".
 * @module
 */
import { MAX_DATA_FRAME } from "./constants.ts";
import { codeFromWire, type ErrorCode, ERRORS } from "./errors.ts";

/** Frame type in the first byte; the next three bytes are a big-endian u24 payload length. */
export const FRAME_TYPE = { data: 0x00, end: 0x01, reset: 0x02 } as const;

/** Bytes of every frame header. */
export const FRAME_HEADER = 4;

/** Writes a DATA header in front of a payload already placed at `buf[4..4+len]`; returns the frame. */
export function sealDataFrame(buf: Uint8Array, len: number): Uint8Array {
  buf[0] = FRAME_TYPE.data;
  buf[1] = (len >>> 16) & 0xff;
  buf[2] = (len >>> 8) & 0xff;
  buf[3] = len & 0xff;
  return buf.subarray(0, FRAME_HEADER + len);
}

/** The END frame: this direction finished cleanly (TCP FIN). */
export const END_FRAME: Uint8Array = Uint8Array.of(FRAME_TYPE.end, 0, 0, 0);

/** A RESET frame: this direction was aborted, with the reason code. */
export function resetFrame(code: ErrorCode): Uint8Array {
  const wire = ERRORS[code].wire;
  return Uint8Array.of(FRAME_TYPE.reset, 0, 0, 2, wire >>> 8, wire & 0xff);
}

/** Events the parser yields; `data` payloads are views into the input chunk (no copy). */
export type FrameEvent =
  | { kind: "data"; payload: Uint8Array }
  | { kind: "end" }
  | { kind: "reset"; code: ErrorCode | "unknown" }
  | { kind: "error"; code: "protocol_error" | "frame_too_large"; why: string };

/**
 * Incremental parser: feed chunks as they arrive in any split; payload is passed through as views.
 * After `end`, `reset` or `error` it yields nothing more except an error for trailing bytes.
 */
export class DataFrameParser {
  #header = new Uint8Array(6);
  #headerHave = 0;
  #remaining = 0; // payload bytes left in the current DATA frame
  #finished = false;

  /** True once END, RESET or an error has been seen. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Parses one chunk; returns the events in order. */
  push(chunk: Uint8Array): FrameEvent[] {
    const events: FrameEvent[] = [];
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.#finished) {
        events.push({
          kind: "error",
          code: "protocol_error",
          why: "bytes after the end of the flow",
        });
        return events;
      }
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.byteLength - at);
        events.push({ kind: "data", payload: chunk.subarray(at, at + take) });
        this.#remaining -= take;
        at += take;
        continue;
      }
      // Read the header (4 bytes, +2 for RESET's code) across chunk boundaries.
      const type = this.#headerHave > 0 ? this.#header[0] : chunk[at];
      const need = type === FRAME_TYPE.reset ? 6 : 4;
      const take = Math.min(need - this.#headerHave, chunk.byteLength - at);
      this.#header.set(chunk.subarray(at, at + take), this.#headerHave);
      this.#headerHave += take;
      at += take;
      if (this.#headerHave < need) continue;
      const h = this.#header;
      const len = (h[1] << 16) | (h[2] << 8) | h[3];
      switch (h[0]) {
        case FRAME_TYPE.data:
          if (len === 0) return this.#fail(events, "protocol_error", "empty DATA frame");
          if (len > MAX_DATA_FRAME) {
            return this.#fail(events, "frame_too_large", `DATA frame of ${len} bytes`);
          }
          this.#remaining = len;
          this.#headerHave = 0;
          break;
        case FRAME_TYPE.end:
          if (len !== 0) return this.#fail(events, "protocol_error", "END frame with payload");
          this.#finished = true;
          events.push({ kind: "end" });
          break;
        case FRAME_TYPE.reset:
          if (len !== 2) return this.#fail(events, "protocol_error", "RESET frame length is not 2");
          this.#finished = true;
          events.push({ kind: "reset", code: codeFromWire((h[4] << 8) | h[5]) ?? "unknown" });
          break;
        default:
          return this.#fail(events, "protocol_error", `unknown frame type 0x${h[0].toString(16)}`);
      }
    }
    return events;
  }

  #fail(
    events: FrameEvent[],
    code: "protocol_error" | "frame_too_large",
    why: string,
  ): FrameEvent[] {
    this.#finished = true;
    events.push({ kind: "error", code, why });
    return events;
  }
}
