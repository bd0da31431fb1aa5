/**
 * The admin endpoint's route table, read as data: method, path, who may call it, what runs. The
 * app (admin_app.ts) authenticates, times out and answers failures around it.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { z } from "zod";
import type { AdminDeps, RequestContext } from "./admin_context.ts";
import {
  CreateAdminTokenRequest,
  IssueTokenRequest,
  PageQuery,
  type Readiness,
  RevokeTokenRequest,
} from "./api_schemas.ts";
import { DASHBOARD_FILES, DASHBOARD_PAGE, type DashboardAsset } from "./dashboard.ts";
import { COMMON_HEADERS, json, readQuery } from "./http_io.ts";
import { kickHandler, listAuditHandler, snapshot } from "./live_api.ts";
import { type AdminMetrics, metricsText } from "./metrics_endpoint.ts";
import { AdminProblem } from "./problem.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./prometheus.ts";
import {
  createAdminTokenHandler,
  deleteAdminTokenHandler,
  issueTokenHandler,
  listAdminTokensHandler,
  listTokensHandler,
  revokeTokenHandler,
} from "./tokens_api.ts";

const log = getLogger(["ztna", "admin"]);

/** Who may call a route: anyone, an admin token, or a token unless `metrics_public`. */
export type Access = "public" | "token" | "metrics";

/** One endpoint. */
export interface Route {
  method: "GET" | "POST" | "DELETE";
  path: RegExp;
  access: Access;
  /** Event streams are not bounded by the request timeout. */
  streaming?: boolean;
  run(req: Request, match: RegExpMatchArray, ctx: RequestContext): Promise<Response>;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** A dashboard file, under the CSP. */
function asset(file: DashboardAsset): Promise<Response> {
  return Promise.resolve(
    new Response(file.body, {
      headers: {
        ...COMMON_HEADERS,
        "content-type": file.contentType,
        "content-security-policy": CSP,
      },
    }),
  );
}

const CONN_ID = "([0-9a-f]{8})";

/** What the routes need of the app: its dependencies and metrics, and its stateful parts. */
export interface RouteHost {
  deps: AdminDeps;
  metrics: AdminMetrics;
  readiness(): Promise<Readiness>;
  /** An event stream (counted against the cap), or a 429. */
  events(req: Request): Response;
  /** The request's JSON body, bounded and checked against `schema`. */
  body<T extends z.ZodType>(req: Request, schema: T): Promise<z.output<T>>;
}

/**
 * The route table: one entry per endpoint, read as data (method, path, who may call it, what
 * runs). Long on purpose: splitting it would scatter the API's one overview.
 */
export function adminRoutes(host: RouteHost): Route[] {
  const api = (path: string) => new RegExp(`^/api/v1/${path}$`);
  return [
    {
      method: "GET",
      path: /^\/healthz$/,
      access: "public",
      run: () => Promise.resolve(json({ status: "ok" })),
    },
    {
      method: "GET",
      path: /^\/readyz$/,
      access: "public",
      run: async () => {
        const r = await host.readiness();
        return json(r, r.ready ? 200 : 503);
      },
    },
    {
      method: "GET",
      path: /^\/metrics$/,
      access: "metrics",
      run: () =>
        Promise.resolve(
          new Response(metricsText(host.deps, host.metrics), {
            headers: { ...COMMON_HEADERS, "content-type": PROMETHEUS_CONTENT_TYPE },
          }),
        ),
    },
    {
      method: "GET",
      path: /^\/$/,
      access: "public",
      run: () =>
        Promise.resolve(
          new Response(null, {
            status: 302,
            headers: { ...COMMON_HEADERS, location: "/dashboard" },
          }),
        ),
    },
    {
      method: "GET",
      path: /^\/dashboard\/?$/,
      access: "public",
      run: () => asset(DASHBOARD_PAGE),
    },
    {
      // Browsers ask for it on every dashboard load; 204 keeps the log and console clean.
      method: "GET",
      path: /^\/favicon\.ico$/,
      access: "public",
      run: () =>
        Promise.resolve(
          new Response(null, {
            status: 204,
            headers: { ...COMMON_HEADERS, "cache-control": "max-age=86400" },
          }),
        ),
    },
    {
      method: "GET",
      path: /^\/dashboard\/([a-z_]+\.(?:js|css))$/,
      access: "public",
      run: (req, m) => {
        const file = DASHBOARD_FILES.get(m[1]);
        if (file === undefined) {
          throw new AdminProblem("not_found", `No resource at ${new URL(req.url).pathname}`);
        }
        return asset(file);
      },
    },
    {
      method: "GET",
      path: api("connections"),
      access: "token",
      run: () => Promise.resolve(json({ items: host.deps.relay.connections() })),
    },
    {
      method: "POST",
      path: api(`connections/${CONN_ID}/kick`),
      access: "token",
      run: async (_req, m, ctx) => json(await kickHandler(ctx, m[1])),
    },
    {
      method: "GET",
      path: api("services"),
      access: "token",
      run: () => Promise.resolve(json({ items: host.deps.relay.services() })),
    },
    {
      method: "GET",
      path: api("fleet"),
      access: "token",
      run: () => Promise.resolve(json({ items: host.deps.relay.fleet() })),
    },
    {
      method: "GET",
      path: api("refusals"),
      access: "token",
      run: () => Promise.resolve(json({ items: host.deps.relay.refusals(1_000) })),
    },
    {
      method: "GET",
      path: api("snapshot"),
      access: "token",
      run: () => Promise.resolve(json(snapshot(host.deps))),
    },
    {
      method: "GET",
      path: api("events"),
      access: "token",
      streaming: true,
      run: (req) => Promise.resolve(host.events(req)),
    },
    {
      method: "GET",
      path: api("tokens"),
      access: "token",
      run: async (req, _m, ctx) =>
        json(await listTokensHandler(ctx, readQuery(new URL(req.url), PageQuery))),
    },
    {
      method: "POST",
      path: api("tokens"),
      access: "token",
      run: async (req, _m, ctx) => {
        const issued = await issueTokenHandler(ctx, await host.body(req, IssueTokenRequest));
        log.info("Admin {actor} issued token {tokenId} for {identity}", {
          actor: ctx.actor,
          tokenId: issued.credential.tokenId,
          identity: issued.credential.subject,
        });
        return json(issued, 201);
      },
    },
    {
      method: "POST",
      path: api("tokens/revoke"),
      access: "token",
      run: async (req, _m, ctx) => {
        const result = await revokeTokenHandler(ctx, await host.body(req, RevokeTokenRequest));
        log.info("Admin {actor} revoked token {tokenId}; closed {count} connections", {
          actor: ctx.actor,
          tokenId: result.tokenId,
          count: result.closedConnections,
        });
        return json(result);
      },
    },
    {
      method: "GET",
      path: api("audit"),
      access: "token",
      run: async (req, _m, ctx) =>
        json(await listAuditHandler(ctx, readQuery(new URL(req.url), PageQuery))),
    },
    {
      method: "GET",
      path: api("admin-tokens"),
      access: "token",
      run: async (_req, _m, ctx) => json(await listAdminTokensHandler(ctx)),
    },
    {
      method: "POST",
      path: api("admin-tokens"),
      access: "token",
      run: async (req, _m, ctx) => {
        const created = await createAdminTokenHandler(
          ctx,
          await host.body(req, CreateAdminTokenRequest),
        );
        log.info("Admin {actor} created admin token {id} ({label})", {
          actor: ctx.actor,
          id: created.id,
          label: created.label,
        });
        return json(created, 201);
      },
    },
    {
      method: "DELETE",
      path: api("admin-tokens/([0-9a-f]{12})"),
      access: "token",
      run: async (_req, m, ctx) => json(await deleteAdminTokenHandler(ctx, m[1])),
    },
  ];
}
