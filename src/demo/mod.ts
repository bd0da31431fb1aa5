/**
 * Public surface of src/demo (being written in this session).
 * @module
 */
import type { RunContext } from "../cli/run_context.ts";

/** Runs relay, connector, client and a tiny HTTP backend on loopback until ctx.signal aborts. */
export function runDemo(_ctx: RunContext): Promise<void> {
  return Promise.reject(new Error("runDemo: not written yet"));
}
