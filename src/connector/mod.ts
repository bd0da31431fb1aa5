/**
 * Public surface of src/connector (being written in this session).
 * @module
 */
import type { ConnectorConfig } from "../config/schema.ts";
import type { RunContext } from "../cli/run_context.ts";

/** Runs the role until ctx.signal aborts. */
export function runConnector(_config: ConnectorConfig, token: string, _ctx: RunContext): Promise<void> {
  return Promise.reject(new Error("runConnector: not written yet"));
}
