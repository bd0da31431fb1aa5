/**
 * Calls a relay's admin endpoint from tests: JSON in, status and JSON out, with or without an admin
 * token, optionally over HTTPS with the fixture's CA.
 * @module
 */

/** The answer of one admin call. */
export interface AdminAnswer {
  status: number;
  type: string;
  headers: Headers;
  text: string;
  /** The parsed body; throws when it is not JSON. */
  json(): Record<string, unknown>;
}

/** Options of {@link adminCall}. */
export interface AdminCallOptions {
  /** Admin token; null sends no Authorization header. */
  token?: string | null;
  method?: string;
  body?: unknown;
  client?: Deno.HttpClient;
}

/** One admin API call against `base` (e.g. `http://127.0.0.1:40123`). */
export async function adminCall(
  base: string,
  path: string,
  options: AdminCallOptions = {},
): Promise<AdminAnswer> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined && options.token !== null) {
    headers.authorization = `Bearer ${options.token}`;
  }
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(base + path, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    ...(options.client === undefined ? {} : { client: options.client }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    headers: res.headers,
    text,
    json: () => JSON.parse(text),
  };
}

/** Polls `probe` every 100 ms until it returns a value other than undefined, or fails. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
