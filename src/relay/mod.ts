/**
 * Public surface of src/relay (being written in this session).
 * @module
 */
import type { IntermediateConfig } from "../config/schema.ts";
import type { RunContext } from "../cli/run_context.ts";

/** Runs the role until ctx.signal aborts. */
export function runIntermediate(_config: IntermediateConfig, _ctx: RunContext): Promise<void> {
  return Promise.reject(new Error("runIntermediate: not written yet"));
}
