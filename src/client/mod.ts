/**
 * Public surface of src/client (being written in this session).
 * @module
 */
import type { ClientConfig } from "../config/schema.ts";
import type { RunContext } from "../cli/run_context.ts";

/** Runs the role until ctx.signal aborts. */
export function runClient(_config: ClientConfig, token: string, _ctx: RunContext): Promise<void> {
  return Promise.reject(new Error("runClient: not written yet"));
}
