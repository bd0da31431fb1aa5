/**
 * What a connector reload changes: services added, removed, re-pointed (new backend or transports)
 * and kept, and which other keys changed but need a restart. Pure.
 * @module
 */
import type { ConnectorConfig, ConnectorServiceConfig } from "../config/schema.ts";

/** The difference between the running connector config and the one read on SIGHUP. */
export interface ReloadPlan {
  added: string[];
  removed: string[];
  /** Same id, another backend or other transports. */
  repointed: string[];
  unchanged: string[];
  /** `connector.*` keys besides `service` whose value changed: applied only by a restart. */
  restartKeys: string[];
  /** The config the new data plane runs: the running one with the new services. */
  next: ConnectorConfig;
}

function sameService(a: ConnectorServiceConfig, b: ConnectorServiceConfig): boolean {
  return a.backend === b.backend &&
    [...a.protocol].sort().join(",") === [...b.protocol].sort().join(",");
}

/** Compares two validated connector configs; only `service` is applied live. */
export function planReload(running: ConnectorConfig, read: ConnectorConfig): ReloadPlan {
  const before = new Map(running.service.map((s) => [s.id, s]));
  const after = new Map(read.service.map((s) => [s.id, s]));
  const plan: ReloadPlan = {
    added: [],
    removed: [],
    repointed: [],
    unchanged: [],
    restartKeys: [],
    next: { ...running, service: read.service },
  };
  for (const [id, service] of after) {
    const old = before.get(id);
    if (old === undefined) plan.added.push(id);
    else if (sameService(old, service)) plan.unchanged.push(id);
    else plan.repointed.push(id);
  }
  for (const id of before.keys()) if (!after.has(id)) plan.removed.push(id);
  const keys = new Set([...Object.keys(running), ...Object.keys(read)]);
  for (const key of keys) {
    if (key === "service") continue;
    const a = JSON.stringify((running as Record<string, unknown>)[key]);
    const b = JSON.stringify((read as Record<string, unknown>)[key]);
    if (a !== b) plan.restartKeys.push(`connector.${key}`);
  }
  return plan;
}

/** Whether the plan changes what the data plane serves (otherwise nothing is restarted). */
export function changesServices(plan: ReloadPlan): boolean {
  return plan.added.length + plan.removed.length + plan.repointed.length > 0;
}
