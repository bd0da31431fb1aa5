/**
 * Messages between main.ts's thread and a role's sandbox Worker (role_worker.ts), validated with
 * zod on receipt: structured clone drops classes, so a ConfigError travels as its fields.
 * @module
 */
import { z } from "zod";
import { LogSection, Role } from "../config/schema.ts";

/** Main → Worker: run this role with this config (re-validated inside the Worker). */
export const RoleStart = z.strictObject({
  type: z.literal("start"),
  role: Role,
  config: z.unknown(),
  token: z.string().optional(),
  /** `ztna connect`: the service name whose one flow runs on stdin and stdout. */
  connect: z.string().optional(),
  log: LogSection,
  /** Extra fields only test builds of the Worker read. */
  test: z.record(z.string(), z.string()).optional(),
});

/** Everything main sends: start, stop (SIGINT/SIGTERM), reload (SIGHUP). */
export const ToRoleWorker = z.discriminatedUnion("type", [
  RoleStart,
  z.strictObject({ type: z.literal("stop") }),
  z.strictObject({
    type: z.literal("reload"),
    /** The client's re-read config (re-validated inside the Worker); absent: reload files only. */
    config: z.unknown().optional(),
  }),
]);
export type ToRoleWorker = z.infer<typeof ToRoleWorker>;

/** A ConfigError's fields, so main.ts can report it (exit status 2) as if thrown there. */
const ConfigProblem = z.strictObject({
  file: z.string(),
  keyPath: z.string().optional(),
  problem: z.string(),
  hint: z.string().optional(),
});

/** Worker → main: reload done, the role ended, or it failed. */
export const FromRoleWorker = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("reloaded") }),
  z.strictObject({ type: z.literal("stopped") }),
  z.strictObject({
    type: z.literal("failed"),
    message: z.string(),
    config: ConfigProblem.extend({ more: z.array(ConfigProblem) }).optional(),
  }),
]);
export type FromRoleWorker = z.infer<typeof FromRoleWorker>;
