/**
 * Durations as written on the command line: a positive whole number and one unit, `s`, `m`, `h` or
 * `d` (`90s`, `15m`, `12h`, `30d`). One unit only, so `1h30m` is refused rather than half-read.
 * Pure: no I/O.
 * @module
 */

/** Seconds per unit letter. */
const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;

const UNIT_BY_LETTER = new Map<string, number>(Object.entries(UNIT_SECONDS));

/** Default upper bound: ten years, the longest token lifetime. */
export const MAX_DURATION_SECONDS = 3_650 * 86_400;

/** A parsed duration, or why the text is not one. */
export type DurationResult = { ok: true; seconds: number } | { ok: false; reason: string };

const SHAPE = /^(\d{1,12})([smhd])$/;

/** Parses `text` into seconds, between 1 and `maxSeconds` inclusive. */
export function parseDuration(
  text: string,
  maxSeconds: number = MAX_DURATION_SECONDS,
): DurationResult {
  const match = SHAPE.exec(text.trim());
  if (!match) {
    return {
      ok: false,
      reason:
        `expected a positive whole number and a unit (s, m, h or d), such as 30d or 12h; got "${text}"`,
    };
  }
  const [, digits, unit] = match;
  const seconds = Number(digits) * (UNIT_BY_LETTER.get(unit) ?? 0);
  if (seconds === 0) {
    return { ok: false, reason: `expected a duration longer than zero; got "${text}"` };
  }
  if (seconds > maxSeconds) {
    return { ok: false, reason: `expected at most ${formatSeconds(maxSeconds)}; got "${text}"` };
  }
  return { ok: true, seconds };
}

/** The largest whole unit that divides `seconds`: `2592000` → `30d`, `5400` → `90m`. */
export function formatSeconds(seconds: number): string {
  for (const unit of ["d", "h", "m"] as const) {
    if (seconds >= UNIT_SECONDS[unit] && seconds % UNIT_SECONDS[unit] === 0) {
      return `${seconds / UNIT_SECONDS[unit]}${unit}`;
    }
  }
  return `${seconds}s`;
}
