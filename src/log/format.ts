/**
 * The two log line formats: text (`2026-11-24T01:02:03.456Z INFO  ztna.relay: message {props}`)
 * and JSON lines. Both always produce exactly one line per record.
 * Pure: no I/O.
 * @module
 */
import type { LogLevel, LogRecord } from "@logtape/logtape";

const LEVEL_LABELS: Record<LogLevel, string> = {
  trace: "TRACE",
  debug: "DEBUG",
  info: "INFO",
  warning: "WARN",
  error: "ERROR",
  fatal: "FATAL",
};

/** JSON replacer: errors as name/message(/stack), bigints as text, byte arrays by size only. */
function jsonSafe(withStack: boolean): (key: string, value: unknown) => unknown {
  const seen = new WeakSet<object>();
  return (_key, value) => {
    if (typeof value === "bigint") return value.toString();
    if (value instanceof Error) {
      return withStack
        ? { name: value.name, message: value.message, stack: value.stack }
        : { name: value.name, message: value.message };
    }
    if (ArrayBuffer.isView(value)) return `<${value.byteLength} bytes>`;
    if (typeof value === "object" && value !== null) {
      if (seen.has(value)) return "[Circular]";
      seen.add(value);
    }
    return value;
  };
}

/** Escapes line breaks and other control characters so a value cannot start a new log line. */
function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/** Renders a value placed in a message: strings as they are, errors as `Name: message`. */
export function renderValue(value: unknown): string {
  if (typeof value === "string") return oneLine(value);
  if (value instanceof Error) return oneLine(`${value.name}: ${value.message}`);
  if (value === undefined) return "undefined";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "function" || typeof value === "symbol") return String(value);
  return oneLine(JSON.stringify(value, jsonSafe(false)) ?? String(value));
}

/** The message with its placeholders filled in. */
export function renderMessage(record: LogRecord): string {
  return record.message.map((part, i) => i % 2 === 0 ? oneLine(String(part)) : renderValue(part))
    .join("");
}

/** Property names used as `{name}` placeholders in the template (top-level names only). */
function placeholders(record: LogRecord): Set<string> {
  const template = typeof record.rawMessage === "string"
    ? record.rawMessage
    : record.rawMessage.join("");
  return new Set([...template.matchAll(/\{([^{}.[\]\s]+)[^{}]*\}/g)].map((m) => m[1]));
}

/** `2026-11-24T01:02:03.456Z INFO  ztna.relay: message {"other":"props"}` plus a newline. */
export function formatTextLine(record: LogRecord): string {
  const used = placeholders(record);
  const rest = Object.fromEntries(Object.entries(record.properties).filter(([k]) => !used.has(k)));
  const props = Object.keys(rest).length > 0 ? ` ${renderValue(rest)}` : "";
  const time = new Date(record.timestamp).toISOString();
  const level = LEVEL_LABELS[record.level].padEnd(5);
  return `${time} ${level} ${record.category.join(".")}: ${renderMessage(record)}${props}\n`;
}

/** One JSON object (timestamp, level, category, message, properties) plus a newline. */
export function formatJsonLine(record: LogRecord): string {
  return JSON.stringify(
    {
      timestamp: new Date(record.timestamp).toISOString(),
      level: record.level,
      category: record.category.join("."),
      message: renderMessage(record),
      properties: record.properties,
    },
    jsonSafe(true),
  ) + "\n";
}
