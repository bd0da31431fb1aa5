/**
 * The relay's admin endpoint: an HTTP API (`/api/v1`, JSON, problem+json errors), Prometheus
 * metrics, health checks and a dashboard page, authenticated with admin bearer tokens that are only
 * ever stored as SHA-256 hashes. The relay starts an {@link AdminEndpoint} over a
 * {@link RelayView}; `ztna admin …` speaks to it with the schemas exported here. docs/ADMIN.md
 * describes the API.
 * @module
 */
export { AdminEndpoint, type AdminEndpointOptions } from "./admin_endpoint.ts";
export { AuditRetention } from "./audit_retention.ts";
export { AdminApp, type AdminAppOptions } from "./admin_app.ts";
export { AdminServer, type AdminServerOptions, type AdminTls } from "./admin_server.ts";
export type { AdminDeps, RequestContext } from "./admin_context.ts";
export type { RelayView } from "./relay_view.ts";
export {
  ADMIN_TOKEN_PREFIX,
  AdminAuthenticator,
  adminTokenId,
  bearerToken,
  generateAdminToken,
  hashAdminToken,
  parseTokenHashFile,
} from "./admin_auth.ts";
export * from "./api_schemas.ts";
export {
  ADMIN_PROBLEM_CODES,
  ADMIN_PROBLEMS,
  AdminProblem,
  type AdminProblemCode,
  PROBLEM_CONTENT_TYPE,
} from "./problem.ts";
export {
  type MetricFamily,
  type MetricSample,
  type ParsedSample,
  parsePrometheus,
  PROMETHEUS_CONTENT_TYPE,
  renderPrometheus,
  sampleValue,
} from "./prometheus.ts";
