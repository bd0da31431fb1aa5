/**
 * Configures @logtape/logtape for the whole process: one stderr sink, the chosen level and format,
 * every category under "ztna". main.ts calls {@link configureLogging} once, before a role starts.
 * @module
 */
import { configureSync, type LogRecord } from "@logtape/logtape";
import type { LogConfig } from "../config/mod.ts";
import { formatJsonLine, formatTextLine } from "./format.ts";

/** Root category; every logger in src/ is `getLogger(["ztna", ...])`. */
export const ROOT_CATEGORY = "ztna";

/** Options of {@link configureLogging}. */
export interface LoggingOptions {
  /** Receives each finished line; replaced in tests. @default {writeStderr} */
  write?: (line: string) => void;
}

const encoder = new TextEncoder();

/** Writes a whole line to stderr synchronously, so nothing is lost when main.ts exits. */
export function writeStderr(line: string): void {
  const bytes = encoder.encode(line);
  let written = 0;
  while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
}

/**
 * Routes "ztna" records at `settings.level` and above, formatted as `settings.format`, to stderr.
 * Calling it again replaces the previous configuration.
 */
export function configureLogging(settings: LogConfig, options: LoggingOptions = {}): void {
  const { write = writeStderr } = options;
  const format = settings.format === "json" ? formatJsonLine : formatTextLine;
  configureSync({
    reset: true,
    sinks: { stderr: (record: LogRecord) => write(format(record)) },
    loggers: [
      { category: ROOT_CATEGORY, sinks: ["stderr"], lowestLevel: settings.level },
      // LogTape's own diagnostics (a failing sink and the like), without its start-up notice.
      { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
    ],
  });
}
