/**
 * The datagrams of the UDP measurements and the counter at their far end. Every UDP path ends at a
 * counting sink (the bench backend's UDP port, or the QUIC datagram hop's server), and the load
 * generator asks the sink, out of band, how many datagrams of a run arrived and over what time.
 *
 * - probe: `run: u32 BE | seq: u32 BE | filler` (at least 8 bytes; the bench sends 1,000)
 * - query: `QUERY_MARK: u32 | run: u32`, answered with
 * - answer: `ANSWER_MARK: u32 | run: u32 | count: u32 | spanUs: u32` — probes of `run` counted, and
 *   microseconds from the first to the last of them.
 *
 * Run ids are below {@link ANSWER_MARK}. Pure: no I/O, the clock is passed in.
 * @module
 */

/** First word of a query. */
export const QUERY_MARK = 0xffff_ffff;
/** First word of an answer. */
export const ANSWER_MARK = 0xffff_fffe;
/** Bytes of a probe's header (run and sequence number). */
export const PROBE_HEADER = 8;
/** Runs a sink remembers; older ones are forgotten first. */
const MAX_RUNS = 256;

/** A decoded datagram. */
export type ProbeDatagram =
  | { kind: "probe"; run: number; seq: number }
  | { kind: "query"; run: number }
  | { kind: "answer"; run: number; count: number; spanUs: number }
  | { kind: "malformed" };

function u32s(words: number[], size = words.length * 4): Uint8Array {
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w));
  return out;
}

/**
 * A probe of `size` bytes.
 * @throws {RangeError} when `size` is below 8 or `run` is a reserved value
 */
export function encodeProbe(run: number, seq: number, size: number): Uint8Array {
  if (size < PROBE_HEADER) {
    throw new RangeError(
      `Cannot encode a probe as 'size' must be at least ${PROBE_HEADER}: current value is ${size}`,
    );
  }
  if (!Number.isInteger(run) || run < 0 || run >= ANSWER_MARK) {
    throw new RangeError(
      `Cannot encode a probe as 'run' must be an integer below ${ANSWER_MARK}: current value is ${run}`,
    );
  }
  return u32s([run, seq >>> 0], size);
}

/** The query for `run`. */
export function encodeQuery(run: number): Uint8Array {
  return u32s([QUERY_MARK, run]);
}

/** The answer for `run`. */
export function encodeAnswer(run: number, count: number, spanUs: number): Uint8Array {
  return u32s([ANSWER_MARK, run, count >>> 0, Math.min(0xffff_ffff, Math.round(spanUs))]);
}

/** Decodes any of the three; never throws. */
export function decodeProbe(d: Uint8Array): ProbeDatagram {
  if (d.byteLength < PROBE_HEADER) return { kind: "malformed" };
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const first = view.getUint32(0);
  const second = view.getUint32(4);
  if (first === QUERY_MARK) {
    return d.byteLength === 8 ? { kind: "query", run: second } : { kind: "malformed" };
  }
  if (first === ANSWER_MARK) {
    if (d.byteLength !== 16) return { kind: "malformed" };
    return { kind: "answer", run: second, count: view.getUint32(8), spanUs: view.getUint32(12) };
  }
  return { kind: "probe", run: first, seq: second };
}

/** Per-run counts at a sink. */
export class ProbeCounter {
  readonly #runs = new Map<number, { count: number; firstMs: number; lastMs: number }>();

  /** Counts one probe of `run` received at `nowMs`. */
  record(run: number, nowMs: number): void {
    const r = this.#runs.get(run);
    if (r) {
      r.count++;
      r.lastMs = nowMs;
      return;
    }
    if (this.#runs.size >= MAX_RUNS) {
      const oldest = this.#runs.keys().next();
      if (!oldest.done) this.#runs.delete(oldest.value);
    }
    this.#runs.set(run, { count: 1, firstMs: nowMs, lastMs: nowMs });
  }

  /** Handles one received datagram; returns the answer to send back for a query. */
  receive(d: Uint8Array, nowMs: number): Uint8Array | undefined {
    const p = decodeProbe(d);
    if (p.kind === "probe") this.record(p.run, nowMs);
    if (p.kind !== "query") return undefined;
    const r = this.#runs.get(p.run);
    return encodeAnswer(p.run, r?.count ?? 0, r ? (r.lastMs - r.firstMs) * 1_000 : 0);
  }
}
