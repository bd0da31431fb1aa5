/**
 * How acme-client reaches the CA: an axios adapter over Deno's own `fetch`, with an HTTP client
 * that trusts the public roots plus an optional PEM bundle (`ca_bundle`, e.g. Pebble's test CA).
 *
 * Why not acme-client's default (axios over `node:https`): Deno's `node:https` does honour an
 * agent's `ca`, but when a request fails without an HTTP answer, acme-client's retry interceptor
 * ends in `validateStatus(undefined)` and throws "Cannot read properties of undefined", losing the
 * reason, and it sleeps up to 75 s in retries we cannot cancel. This adapter verifies TLS with
 * `Deno.createHttpClient({ caCerts })` (there is no way to turn verification off), bounds time and
 * body size, stops on shutdown, and fails with an {@link AcmeError} that carries no axios `config`,
 * so acme-client's interceptor passes it through untouched. Retries are ours (certificate_manager).
 * @module
 */
import "./_npm_env.ts"; // before acme-client: see there
import * as acme from "acme-client";
import { AcmeError } from "./acme_error.ts";

type AnyAdapter = NonNullable<typeof acme.axios.defaults.adapter>;
/** The function form of an axios adapter, as acme-client's axios types it. */
export type AxiosAdapterFn = Extract<AnyAdapter, (...args: never[]) => unknown>;
type AdapterConfig = Parameters<AxiosAdapterFn>[0];
type AdapterResult = Awaited<ReturnType<AxiosAdapterFn>>;

/** Largest body the CA may send (certificate chains are a few KiB; directories less). */
export const MAX_RESPONSE_BYTES = 1 << 20;

/** Options of {@link fetchAdapter}. */
export interface FetchAdapterOptions {
  /** Extra trusted roots, PEM; the public roots stay trusted. @default {[]} */
  caCerts?: string[];
  /** Time one request may take, in milliseconds. @default {30000} */
  timeoutMs?: number;
  /** Aborts every request in flight and every later one (shutdown). */
  signal?: AbortSignal;
}

/** An adapter and the HTTP client it holds; close it when done. */
export interface FetchAdapter extends Disposable {
  adapter: AxiosAdapterFn;
}

function requestHeaders(config: AdapterConfig): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(config.headers.toJSON())) {
    if (typeof value === "string" || typeof value === "number") headers.set(name, String(value));
  }
  return headers;
}

function requestBody(data: unknown): string | Uint8Array<ArrayBuffer> | undefined {
  if (data === undefined || data === null) return undefined;
  if (typeof data === "string") return data;
  if (data instanceof Uint8Array) return new Uint8Array(data);
  throw new TypeError(`Cannot send an ACME request body of type ${typeof data}`);
}

async function readBounded(res: Response, url: string): Promise<string> {
  const reader = res.body?.getReader();
  if (reader === undefined) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new AcmeError(
        "ca_error",
        `The CA's answer from ${url} exceeds ${MAX_RESPONSE_BYTES} bytes`,
      );
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(body);
}

/** The useful part of a fetch error: Deno says "fetch failed" and puts the reason in `cause`. */
function fetchFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const detail = error.cause instanceof Error ? error.cause.message : error.message;
  // "error sending request for url (…): client error (Connect): tcp connect error: …"
  return detail.replace(/^error sending request for url \([^)]*\): /, "");
}

/**
 * Makes the adapter; install it with `acme.axios.defaults.adapter = a.adapter` (acme-client has
 * one process-wide axios instance).
 */
export function fetchAdapter(options: FetchAdapterOptions = {}): FetchAdapter {
  const { caCerts = [], timeoutMs = 30_000, signal } = options;
  const client = Deno.createHttpClient({ caCerts });
  const adapter = async (config: AdapterConfig): Promise<AdapterResult> => {
    const url = config.url ?? "";
    const method = (config.method ?? "get").toUpperCase();
    const signals = [AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])];
    let res: Response;
    let data: string;
    try {
      res = await fetch(url, {
        method,
        headers: requestHeaders(config),
        body: requestBody(config.data),
        client,
        signal: AbortSignal.any(signals),
      });
      data = method === "HEAD" ? "" : await readBounded(res, url);
    } catch (error) {
      if (error instanceof AcmeError) throw error;
      if (signal?.aborted) throw new AcmeError("aborted", "Stopped while talking to the CA");
      const reason = error instanceof DOMException && error.name === "TimeoutError"
        ? `no answer within ${timeoutMs} ms`
        : fetchFailure(error);
      throw new AcmeError("ca_unreachable", `Cannot reach the ACME CA at ${url}: ${reason}`, {
        cause: error,
      });
    }
    return {
      data,
      status: res.status,
      statusText: res.statusText,
      headers: Object.fromEntries(res.headers),
      config,
      request: undefined,
    };
  };
  return { adapter, [Symbol.dispose]: () => client.close() };
}
