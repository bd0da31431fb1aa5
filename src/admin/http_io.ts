/**
 * Reading and writing admin HTTP messages: JSON answers with the headers every answer carries, a
 * JSON body read under a size cap and validated with a zod schema, query strings validated the
 * same way. Every failure is an {@link AdminProblem}. No network: works on Request and Response.
 * @module
 */
import type { z } from "zod";
import { AdminProblem, type FieldProblem } from "./problem.ts";

/** Largest request body accepted: a token request is a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1_024;

/** Headers on every admin answer: no caching of secrets, no sniffing, no framing. */
export const COMMON_HEADERS: Readonly<Record<string, string>> = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

/** A JSON answer. */
export function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { ...COMMON_HEADERS, "content-type": "application/json; charset=utf-8" },
  });
}

/** zod issues as JSON pointers into the input, for the `errors` member of a problem. */
export function fieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.slice(0, 20).map((issue) => ({
    pointer: "/" + issue.path.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1"))
      .join("/"),
    detail: issue.message,
  }));
}

function invalid(what: string, error: z.ZodError): AdminProblem {
  const errors = fieldProblems(error);
  const first = errors[0];
  const where = first === undefined || first.pointer === "/" ? "" : ` at ${first.pointer}`;
  return new AdminProblem("invalid_request", `${what} is not valid${where}: ${first?.detail}`, {
    errors,
  });
}

/**
 * Reads the request body as JSON (at most `maxBytes`) and validates it with `schema`.
 * @throws {AdminProblem} unsupported_media_type, payload_too_large or invalid_request
 */
export async function readJsonBody<T extends z.ZodType>(
  req: Request,
  schema: T,
  maxBytes = MAX_BODY_BYTES,
): Promise<z.output<T>> {
  const type = req.headers.get("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new AdminProblem("unsupported_media_type", "Send the body as application/json");
  }
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    throw new AdminProblem("payload_too_large", `Body larger than ${maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (req.body !== null) {
    const reader = req.body.getReader();
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new AdminProblem("payload_too_large", `Body larger than ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new AdminProblem("invalid_request", "Body is not UTF-8 JSON");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalid("Body", parsed.error);
  return parsed.data;
}

/**
 * Validates the query string with `schema` (every parameter once; unknown ones are refused by a
 * strict schema).
 * @throws {AdminProblem} invalid_request
 */
export function readQuery<T extends z.ZodType>(url: URL, schema: T): z.output<T> {
  const raw: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (Object.hasOwn(raw, key)) {
      throw new AdminProblem("invalid_request", `Query parameter "${key}" given more than once`);
    }
    raw[key] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalid("Query", parsed.error);
  return parsed.data;
}
