/**
 * Errors of the admin HTTP API: one table of codes with their HTTP status, one error class, and the
 * `application/problem+json` answer (RFC 9457) every failure becomes, with a `code` member that
 * clients branch on. Codes shared with the wire protocol (`unauthenticated`, `internal`) come from
 * src/protocol/errors.ts; the others exist only at this HTTP boundary. Pure: no I/O.
 * @module
 */
import type { ErrorCode } from "../protocol/mod.ts";

/** Every code the admin API answers with, its HTTP status and a short title. */
export const ADMIN_PROBLEMS = {
  unauthenticated: { status: 401, title: "Admin token missing or not valid" },
  invalid_request: { status: 400, title: "The request is not valid" },
  not_found: { status: 404, title: "No such resource" },
  method_not_allowed: { status: 405, title: "Method not allowed on this resource" },
  conflict: { status: 409, title: "The resource cannot change this way" },
  payload_too_large: { status: 413, title: "Request body too large" },
  unsupported_media_type: { status: 415, title: "Request body must be application/json" },
  too_many_streams: { status: 429, title: "Too many open event streams" },
  token_issuing_disabled: {
    status: 501,
    title: "This relay has no token signing key (intermediate.admin.token_signing_key)",
  },
  timeout: { status: 503, title: "The request did not finish in time" },
  internal: { status: 500, title: "Internal error" },
} as const satisfies Record<string, { status: number; title: string }>;

/** A code of {@link ADMIN_PROBLEMS}. */
export type AdminProblemCode = keyof typeof ADMIN_PROBLEMS;

/** Codes that mean the same here as in the protocol table; a compile error means they drifted. */
export const SHARED_WITH_PROTOCOL = ["unauthenticated", "internal"] as const satisfies readonly (
  & ErrorCode
  & AdminProblemCode
)[];

/** All codes, for zod enums in clients. */
export const ADMIN_PROBLEM_CODES = Object.keys(ADMIN_PROBLEMS) as AdminProblemCode[];

/** Content type of every error answer. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** One field that failed validation: a JSON pointer into the body and why. */
export interface FieldProblem {
  pointer: string;
  detail: string;
}

/** An expected failure of an admin request; {@link problemResponse} turns it into the answer. */
export class AdminProblem extends Error {
  override readonly name = "AdminProblem";
  readonly errors: readonly FieldProblem[];
  constructor(
    readonly code: AdminProblemCode,
    message: string,
    options: ErrorOptions & { errors?: readonly FieldProblem[] } = {},
  ) {
    super(message, options);
    this.errors = options.errors ?? [];
  }

  get status(): number {
    return ADMIN_PROBLEMS[this.code].status;
  }
}

/** The problem+json answer for `problem`; `detail` is the message, never a stack or a cause. */
export function problemResponse(problem: AdminProblem, headers: HeadersInit = {}): Response {
  const { status, title } = ADMIN_PROBLEMS[problem.code];
  const body = {
    type: `urn:ztna:problem:${problem.code}`,
    title,
    status,
    code: problem.code,
    detail: problem.message,
    ...(problem.errors.length > 0 ? { errors: problem.errors } : {}),
  };
  const h = new Headers(headers);
  h.set("content-type", PROBLEM_CONTENT_TYPE);
  if (problem.code === "unauthenticated") h.set("www-authenticate", 'Bearer realm="ztna-admin"');
  return new Response(JSON.stringify(body), { status, headers: h });
}
