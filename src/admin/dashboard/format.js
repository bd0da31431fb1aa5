/**
 * How the dashboard shows values and reads what the operator types: byte counts, dated local times
 * with their UTC offset, ages, token lifetimes. Pure: no DOM and no clock of its own, so
 * format_test.ts runs it in Deno. Browser JavaScript with JSDoc types (see app.js for why).
 * @module
 */

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/**
 * Seconds per lifetime unit of the issue form's `7d`, `12h`, `30m`, `90s`.
 * @type {Readonly<Record<string, number>>}
 */
const TTL_UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 };

/**
 * A byte count in binary units: `512 B`, `1.5 KiB`, `3.0 MiB`.
 * @param {number} n
 * @returns {string}
 */
export function bytes(n) {
  let i = 0;
  while (n >= 1024 && i < BYTE_UNITS.length - 1) {
    n = n / 1024;
    i++;
  }
  return `${i === 0 ? String(Math.round(n)) : n.toFixed(1)} ${BYTE_UNITS[i]}`;
}

/**
 * @param {number} n
 * @returns {string}
 */
function two(n) {
  return String(n).padStart(2, "0");
}

/**
 * Local date and time with the UTC offset, so a time is never ambiguous:
 * `2025-03-09 14:05:00 UTC+01:00`.
 * @param {number} ms epoch milliseconds
 * @returns {string}
 */
export function clock(ms) {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  const date = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
  const time = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return `${date} ${time} UTC${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
}

/**
 * How long before `now` the instant `ms` was: `5 s ago`, `3 min ago`, `2 h ago`, `4 d ago`.
 * @param {number} ms epoch milliseconds
 * @param {number} now epoch milliseconds
 * @returns {string}
 */
export function ago(ms, now) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3_600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3_600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/**
 * A lifetime typed as a number and a unit (`7d`, `12h`, `30m`, `90s`) in seconds; NaN when the
 * text is not one (the API then refuses the request and the page shows its answer).
 * @param {string} text
 * @returns {number}
 */
export function ttlSeconds(text) {
  const m = /^(\d+)([smhd])$/.exec(text.trim());
  if (m === null) return NaN;
  return Number(m[1]) * TTL_UNIT_SECONDS[m[2]];
}
