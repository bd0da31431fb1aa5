/**
 * Messages between the connector's main thread and its egress Worker, validated with zod on
 * receipt (structured clone drops classes, so errors travel as codes).
 * @module
 */
import { z } from "zod";
import { ConnectorSection, LogSection } from "../config/schema.ts";
import { WorkerStats } from "./connector_stats.ts";

/** Main → Worker: start with this configuration. */
export const WorkerStart = z.strictObject({
  type: z.literal("start"),
  // Re-validated inside the Worker: the output of the schema is valid input to it.
  config: z.unknown(),
  token: z.string(),
  caCerts: z.array(z.string()).optional(),
  /** Basic credentials for the HTTP proxy, read by main (the Worker reads no file or variable). */
  proxyCredentials: z.strictObject({ user: z.string(), password: z.string() }).optional(),
  /** The host's interface addresses, listed by the main thread (the sandbox has no `sys`). */
  interfaces: z.array(z.strictObject({
    family: z.enum(["IPv4", "IPv6"]),
    address: z.string().max(64),
  })).max(256).optional(),
  log: LogSection,
  /** Extra fields only test builds of the worker read. */
  test: z.record(z.string(), z.string()).optional(),
});

/** Main → Worker: stop (like SIGTERM). */
export const WorkerStop = z.strictObject({ type: z.literal("stop") });

/**
 * Main → Worker: a reload moved the services to a new Worker; unregister them all, serve the
 * flows in progress, stop when the last one ends.
 */
export const WorkerDrain = z.strictObject({ type: z.literal("drain") });

/** Main → Worker: send your counters (the status endpoint is being read). */
export const WorkerStatsRequest = z.strictObject({ type: z.literal("stats") });

/** Everything main sends. */
export const ToWorker = z.discriminatedUnion("type", [
  WorkerStart,
  WorkerStop,
  WorkerDrain,
  WorkerStatsRequest,
]);
export type ToWorker = z.infer<typeof ToWorker>;

/**
 * Worker → main: every relay answered every registration (`ready`, once); the data plane ended
 * (after stop or a drain) or failed.
 */
export const FromWorker = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("ready") }),
  /** The counters, asked for or last before `stopped`. */
  z.strictObject({ type: z.literal("stats"), stats: WorkerStats }),
  z.strictObject({ type: z.literal("stopped") }),
  z.strictObject({ type: z.literal("failed"), message: z.string() }),
]);
export type FromWorker = z.infer<typeof FromWorker>;

/** Parses the connector section inside the Worker. */
export function parseWorkerConfig(config: unknown) {
  return ConnectorSection.parse(config);
}
