/**
 * The live view through the admin API: connections, service pools, recent refusals, the snapshot
 * the dashboard's event stream pushes, kicking one connection, and the audit log.
 * @module
 */
import { type AdminDeps, audit, type RequestContext } from "./admin_context.ts";
import type { PageQuery, Snapshot } from "./api_schemas.ts";
import { AdminProblem } from "./problem.ts";

/** Refusals shown in a snapshot: enough for a screen, small enough to push every second. */
export const SNAPSHOT_REFUSALS = 50;

/** Everything the dashboard shows live, at one instant. */
export function snapshot(deps: AdminDeps): Snapshot {
  const connections = deps.relay.connections();
  return {
    at: deps.now(),
    connections,
    services: deps.relay.services(),
    refusals: deps.relay.refusals(SNAPSHOT_REFUSALS),
    fleet: deps.relay.fleet(),
    totals: {
      clients: connections.filter((c) => c.role === "client").length,
      connectors: connections.filter((c) => c.role === "connector").length,
      activeFlows: deps.relay.activeFlows(),
      refusals: deps.relay.refusalsTotal(),
    },
  };
}

/** `POST /api/v1/connections/{connId}/kick`. @throws {AdminProblem} not_found */
export async function kickHandler(ctx: RequestContext, connId: string) {
  const kicked = ctx.deps.relay.kick(connId);
  if (kicked === undefined) {
    await audit(ctx, {
      action: "connection.kick",
      outcome: "refused",
      target: connId,
      code: "not_found",
    });
    throw new AdminProblem("not_found", `No open connection with id ${connId}`);
  }
  await audit(ctx, {
    action: "connection.kick",
    outcome: "ok",
    target: connId,
    detail: kicked.identity,
  });
  return { connId, identity: kicked.identity };
}

/** `GET /api/v1/audit`: newest first. */
export async function listAuditHandler(ctx: RequestContext, query: PageQuery) {
  const page = await ctx.deps.store.listAudit({
    limit: query.limit,
    ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
  });
  return page.next === undefined ? { items: page.items } : page;
}
