/**
 * The admin endpoint as a function from Request to Response: routes (the table: routes.ts), bearer
 * authentication, body and query validation, per-request timeouts, the event stream cap, audit of
 * refused sign-ins, and one error path that turns every failure into problem+json. No sockets:
 * admin_server.ts puts it behind Deno.serve, unit tests call {@link AdminApp.handle} directly.
 *
 * ```
 * GET  /healthz  /readyz                     no token
 * GET  /metrics                              token unless metrics_public
 * GET  /  /dashboard  /dashboard/{app.js,format.js,app.css}  /favicon.ico (204)  no token (no data)
 * GET  /api/v1/connections | services | refusals | snapshot | events | fleet
 * GET  /api/v1/tokens | audit | admin-tokens
 * POST /api/v1/tokens  /api/v1/tokens/revoke  /api/v1/admin-tokens
 * POST /api/v1/connections/{connId}/kick
 * DELETE /api/v1/admin-tokens/{id}
 * ```
 * @module
 */
import { deadline, TIMED_OUT } from "../runtime/deadline.ts";
import { getLogger } from "@logtape/logtape";
import type { z } from "zod";
import type { AdminDeps, RequestContext } from "./admin_context.ts";
import type { Readiness } from "./api_schemas.ts";
import { eventStream } from "./events.ts";
import { MAX_BODY_BYTES, readJsonBody } from "./http_io.ts";
import { snapshot } from "./live_api.ts";
import { AdminMetrics } from "./metrics_endpoint.ts";
import { AdminProblem, problemResponse } from "./problem.ts";
import { adminRoutes, type Route } from "./routes.ts";

const log = getLogger(["ztna", "admin"]);

/** Options of {@link AdminApp}. */
export interface AdminAppOptions {
  /** Time a request may take before it is answered 503 timeout. @default {10000} */
  requestTimeoutMs?: number;
  /** Event streams open at once; more are answered 429. @default {16} */
  maxEventStreams?: number;
  /** Time between event stream snapshots. @default {1000} */
  eventIntervalMs?: number;
  /** Largest request body. @default {65536} */
  maxBodyBytes?: number;
  /** Refused sign-ins audited per minute; the rest are only counted. @default {60} */
  auditedAuthFailuresPerMinute?: number;
}

/** The admin endpoint. */
export class AdminApp {
  readonly metrics = new AdminMetrics();
  readonly #routes: Route[];
  /** Aborted to end the open event streams; replaced so later streams start fresh. */
  #streamsEnd = new AbortController();
  #closed = false;
  readonly #timeoutMs: number;
  readonly #maxStreams: number;
  readonly #intervalMs: number;
  readonly #maxBody: number;
  readonly #auditBudget: number;
  #streams = 0;
  #auditWindow = { start: 0, used: 0, suppressed: 0 };

  /** @throws {RangeError} when an option is out of range */
  constructor(readonly deps: AdminDeps, options: AdminAppOptions = {}) {
    const {
      requestTimeoutMs = 10_000,
      maxEventStreams = 16,
      eventIntervalMs = 1_000,
      maxBodyBytes = MAX_BODY_BYTES,
      auditedAuthFailuresPerMinute = 60,
    } = options;
    for (
      const [name, value] of Object.entries({
        requestTimeoutMs,
        maxEventStreams,
        eventIntervalMs,
        maxBodyBytes,
      })
    ) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(
          `Cannot create admin endpoint as '${name}' must be a positive integer: current value is ${value}`,
        );
      }
    }
    this.#timeoutMs = requestTimeoutMs;
    this.#maxStreams = maxEventStreams;
    this.#intervalMs = eventIntervalMs;
    this.#maxBody = maxBodyBytes;
    this.#auditBudget = auditedAuthFailuresPerMinute;
    this.#routes = adminRoutes({
      deps,
      metrics: this.metrics,
      readiness: () => this.#readiness(),
      events: (req) => this.#events(req),
      body: (req, schema) => this.#body(req, schema),
    });
  }

  /** Ends every open event stream; new ones may start (certificate reload). */
  endStreams(): void {
    this.#streamsEnd.abort();
    this.#streamsEnd = new AbortController();
  }

  /** Ends every open event stream and refuses new ones (server shutdown). */
  closeStreams(): void {
    this.#closed = true;
    this.endStreams();
  }

  /** Event streams open now. */
  get openStreams(): number {
    return this.#streams;
  }

  /** Answers one request; never throws. `remote` is the client's address, for the audit log. */
  async handle(req: Request, remote: string): Promise<Response> {
    let res: Response;
    try {
      res = await this.#dispatch(req, remote);
    } catch (error) {
      res = this.#failure(error);
    }
    this.metrics.request(res.status);
    return res;
  }

  async #dispatch(req: Request, remote: string): Promise<Response> {
    const url = new URL(req.url);
    const candidates = this.#routes.filter((r) => r.path.test(url.pathname));
    if (candidates.length === 0) {
      throw new AdminProblem("not_found", `No resource at ${url.pathname}`);
    }
    const route = candidates.find((r) => r.method === req.method);
    if (route === undefined) {
      return problemResponse(
        new AdminProblem("method_not_allowed", `${req.method} is not allowed on ${url.pathname}`),
        { allow: [...new Set(candidates.map((r) => r.method))].join(", ") },
      );
    }
    const match = url.pathname.match(route.path);
    if (match === null) throw new AdminProblem("not_found", `No resource at ${url.pathname}`);
    let actor = "anonymous";
    if (route.access === "token" || (route.access === "metrics" && !this.deps.metricsPublic)) {
      const result = await this.deps.auth.authenticate(req.headers.get("authorization"));
      if (!result.ok) {
        await this.#refuseSignIn(url.pathname, result.why, remote);
        throw new AdminProblem(
          "unauthenticated",
          result.why === "missing"
            ? "Send an admin token: Authorization: Bearer <token>"
            : "The admin token is not valid",
        );
      }
      actor = result.actor;
    }
    const ctx: RequestContext = { deps: this.deps, actor, remote };
    if (route.streaming) return await route.run(req, match, ctx);
    return await this.#withTimeout(route.run(req, match, ctx));
  }

  async #withTimeout(work: Promise<Response>): Promise<Response> {
    const answer = await deadline(work, this.#timeoutMs);
    if (answer === TIMED_OUT) {
      throw new AdminProblem("timeout", `No answer within ${this.#timeoutMs} ms`);
    }
    return answer;
  }

  /** Counts a refused sign-in; audits up to the per-minute budget, then only counts. */
  async #refuseSignIn(path: string, why: string, remote: string): Promise<void> {
    this.metrics.authFailures++;
    log.warn("Refused admin request to {path}: unauthenticated ({why})", { path, why });
    const now = this.deps.now();
    const w = this.#auditWindow;
    if (now - w.start >= 60_000) {
      this.#auditWindow = { start: now, used: 0, suppressed: 0 };
    }
    if (this.#auditWindow.used >= this.#auditBudget) {
      this.#auditWindow.suppressed++;
      return;
    }
    this.#auditWindow.used++;
    const suppressed = w === this.#auditWindow ? 0 : w.suppressed;
    await this.deps.store.appendAudit({
      at: now,
      actor: "anonymous",
      action: "auth.failed",
      outcome: "refused",
      code: "unauthenticated",
      target: path.slice(0, 160),
      detail: suppressed > 0 ? `${why}; ${suppressed} more not audited in the last minute` : why,
      remote,
    });
  }

  #failure(error: unknown): Response {
    if (error instanceof AdminProblem) return problemResponse(error);
    if (error instanceof RangeError) {
      return problemResponse(new AdminProblem("invalid_request", error.message));
    }
    log.error("Admin request failed: {error}", { error });
    return problemResponse(new AdminProblem("internal", "Internal error; see the relay's log"));
  }

  #body<T extends z.ZodType>(req: Request, schema: T): Promise<z.output<T>> {
    return readJsonBody(req, schema, this.#maxBody);
  }

  #events(req: Request): Response {
    if (this.#closed) {
      throw new AdminProblem("too_many_streams", "The admin endpoint is shutting down");
    }
    if (this.#streams >= this.#maxStreams) {
      throw new AdminProblem(
        "too_many_streams",
        `At most ${this.#maxStreams} event streams at once`,
      );
    }
    this.#streams++;
    return eventStream(() => snapshot(this.deps), {
      intervalMs: this.#intervalMs,
      signal: AbortSignal.any([req.signal, this.#streamsEnd.signal]),
      onEnd: () => this.#streams--,
    });
  }

  async #readiness(): Promise<Readiness> {
    const cert = this.deps.certificate();
    const now = this.deps.now();
    let store = true;
    try {
      await this.deps.store.listAdminTokens();
    } catch {
      store = false;
    }
    const checks = {
      listening: this.deps.relay.listening(),
      store,
      certificate: cert !== undefined && cert.notBeforeMs <= now && now < cert.notAfterMs,
      draining: this.deps.relay.draining(),
    };
    return {
      ready: checks.listening && checks.store && checks.certificate && !checks.draining,
      checks,
      ...(cert === undefined ? {} : { certificateNotAfter: cert.notAfterMs }),
    };
  }
}
