/**
 * The tiny protocol between the bench load generator and the bench backend, so one backend port
 * serves every measurement through every path (a path forwards to exactly one backend).
 *
 * Every connection starts with a 9-byte preamble the client sends: one mode byte, then a u64
 * (big-endian) byte count.
 * - `U` upload: the client sends `count` bytes; the backend counts them and answers one byte `K`
 *   when it has them all (no reliance on half-close).
 * - `D` download: the backend sends `count` bytes, then closes.
 * - `E` echo: the backend writes back every byte it reads (`count` is ignored).
 *
 * The client always speaks first. That matters for the QUIC pipe baseline: a QUIC peer does not see a
 * new stream until data is written on it, so a server-speaks-first download would hang.
 * Pure: no I/O.
 * @module
 */

/** Measurement a connection asks for. */
export type BenchMode = "upload" | "download" | "echo";

/** Bytes of the preamble: mode byte plus u64 count. */
export const PREAMBLE_BYTES = 9;

/** The byte the sink answers once it has received every byte of an upload. */
export const UPLOAD_ACK = 0x4b; // "K"

const MODES: readonly BenchMode[] = ["upload", "download", "echo"];
const MODE_BYTES: Record<BenchMode, number> = { upload: 0x55, download: 0x44, echo: 0x45 };

/** Encodes the preamble for `mode` and `count` bytes. */
export function encodePreamble(mode: BenchMode, count: number): Uint8Array {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(
      `Cannot encode the bench preamble as 'count' must be a non-negative safe integer: current value is ${count}`,
    );
  }
  const out = new Uint8Array(PREAMBLE_BYTES);
  out[0] = MODE_BYTES[mode];
  new DataView(out.buffer).setBigUint64(1, BigInt(count));
  return out;
}

/** A decoded preamble, or why there is none yet. */
export type PreambleDecoded =
  | { kind: "preamble"; mode: BenchMode; count: number }
  | { kind: "incomplete" }
  | { kind: "error"; why: string };

/** Decodes the first {@link PREAMBLE_BYTES} bytes of `buf`. */
export function decodePreamble(buf: Uint8Array): PreambleDecoded {
  if (buf.byteLength < PREAMBLE_BYTES) return { kind: "incomplete" };
  const mode = MODES.find((m) => MODE_BYTES[m] === buf[0]);
  if (!mode) return { kind: "error", why: `unknown mode byte ${buf[0]}` };
  const count = new DataView(buf.buffer, buf.byteOffset, PREAMBLE_BYTES).getBigUint64(1);
  if (count > BigInt(Number.MAX_SAFE_INTEGER)) return { kind: "error", why: "count too large" };
  return { kind: "preamble", mode, count: Number(count) };
}
