/**
 * A TCP connection to a relay, directly or tunnelled through an HTTP CONNECT proxy, ready for
 * `Deno.startTls`: TLS to the relay runs inside the tunnel, end to end, verified exactly as without
 * a proxy (the proxy sees only the relay's name and encrypted bytes).
 * @module
 */
import type { HostPortValue } from "../protocol/address.ts";
import { formatHostPort } from "../protocol/address.ts";
import { deadline, TIMED_OUT } from "../runtime/deadline.ts";
import type { ProxyEndpoint } from "./http_proxy_choice.ts";
import {
  ConnectAnswerReader,
  encodeConnectRequest,
  type ProxyCredentials,
} from "./http_proxy_exchange.ts";

/** Why a proxy did not give us a tunnel. */
export type ProxyFailureCode =
  | "proxy_unreachable"
  | "proxy_auth_required"
  | "proxy_refused"
  | "proxy_timeout"
  | "proxy_protocol";

/** A proxy that did not give us a tunnel; the message names the proxy and the fix, never secrets. */
export class ProxyError extends Error {
  override readonly name = "ProxyError";
  constructor(
    readonly code: ProxyFailureCode,
    message: string,
    /** The proxy's HTTP status, when it answered. */
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Options of {@link connectTcp}. */
export interface ConnectTcpOptions {
  /** Tunnel through this proxy; absent: connect directly. */
  proxy?: ProxyEndpoint;
  /** Basic credentials sent to the proxy (never logged, never in errors). */
  credentials?: ProxyCredentials;
  /** Deadline for the TCP connect and the proxy's answer. @default {10000} */
  timeoutMs?: number;
  /** Bytes of the proxy's answer read at most. @default {MAX_PROXY_ANSWER_BYTES} */
  maxAnswerBytes?: number;
  signal?: AbortSignal;
}

/**
 * Opens TCP to `target`, through `options.proxy` when given.
 * @throws {ProxyError} when the proxy cannot be reached, refuses, times out or answers garbage
 * @throws {Deno.errors.ConnectionRefused} (and the like) from a direct connect
 */
export async function connectTcp(
  target: HostPortValue,
  options: ConnectTcpOptions = {},
): Promise<Deno.TcpConn> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (options.proxy === undefined) {
    const direct = await deadline(
      Deno.connect({ hostname: target.hostname, port: target.port }),
      timeoutMs,
      options.signal,
    );
    if (direct === TIMED_OUT) {
      throw new Deno.errors.TimedOut(`TCP connect to ${formatHostPort(target)} timed out`);
    }
    return direct;
  }
  return await dialViaProxy(target, options.proxy, { ...options, timeoutMs });
}

/**
 * Opens a CONNECT tunnel to `target` through `proxy` and returns the proxy connection, now carrying
 * the tunnel. Closes it on every failure.
 * @throws {ProxyError} proxy_unreachable, proxy_auth_required (407), proxy_refused (any other
 *   non-2xx), proxy_timeout, proxy_protocol
 */
export async function dialViaProxy(
  target: HostPortValue,
  proxy: ProxyEndpoint,
  options: Omit<ConnectTcpOptions, "proxy"> = {},
): Promise<Deno.TcpConn> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = Date.now();
  const via = `through proxy ${proxy.url}`;
  const relay = formatHostPort(target);
  const connecting = Deno.connect({ hostname: proxy.hostname, port: proxy.port });
  let conn: Deno.TcpConn;
  try {
    const got = await deadline(connecting, timeoutMs, options.signal);
    if (got === TIMED_OUT) {
      connecting.then((c) => c.close(), () => {});
      throw new ProxyError(
        "proxy_timeout",
        `Cannot reach ${relay} ${via}: no TCP connection to the proxy within ${timeoutMs} ms`,
      );
    }
    conn = got;
  } catch (e) {
    if (e instanceof ProxyError) throw e;
    if (options.signal?.aborted) {
      connecting.then((c) => c.close(), () => {});
      throw e;
    }
    const detail = e instanceof Error ? e.message : String(e);
    throw new ProxyError(
      "proxy_unreachable",
      `Cannot reach ${relay} ${via}: the proxy is unreachable (${detail}); check proxy, ` +
        "HTTPS_PROXY and NO_PROXY",
      undefined,
      { cause: e },
    );
  }
  try {
    await conn.write(encodeConnectRequest(target, options.credentials));
    const left = Math.max(1, timeoutMs - (Date.now() - started));
    const answer = await deadline(readAnswer(conn, options.maxAnswerBytes), left, options.signal);
    if (answer === TIMED_OUT) {
      throw new ProxyError(
        "proxy_timeout",
        `Cannot reach ${relay} ${via}: the proxy did not answer CONNECT within ${timeoutMs} ms`,
      );
    }
    checkAnswer(answer, relay, via, options.credentials !== undefined);
    return conn;
  } catch (e) {
    try {
      conn.close();
    } catch { /* already closed */ }
    if (e instanceof ProxyError || options.signal?.aborted) throw e;
    const detail = e instanceof Error ? e.message : String(e);
    throw new ProxyError(
      "proxy_protocol",
      `Cannot reach ${relay} ${via}: the proxy closed or broke the connection (${detail})`,
      undefined,
      { cause: e },
    );
  }
}

type ReadAnswer =
  | { status: number; reason: string; extra: number }
  | { error: string };

/** Reads the proxy's answer, one chunk at a time, until its headers end, it closes or errs. */
async function readAnswer(conn: Deno.TcpConn, limit?: number): Promise<ReadAnswer> {
  const reader = new ConnectAnswerReader(limit);
  const buf = new Uint8Array(4096);
  // Bounded: each round adds ≥ 1 byte and the reader fails past its limit.
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) return { error: "the proxy closed the connection before answering" };
    const state = reader.push(buf.subarray(0, n));
    if (state.kind === "incomplete") continue;
    if (state.kind === "error") return { error: state.detail };
    const { status, reason, rest } = state.answer;
    return { status, reason, extra: rest.length };
  }
}

function checkAnswer(answer: ReadAnswer, relay: string, via: string, hadCredentials: boolean) {
  if ("error" in answer) {
    throw new ProxyError("proxy_protocol", `Cannot reach ${relay} ${via}: ${answer.error}`);
  }
  const { status, reason } = answer;
  const said = `${status}${reason ? ` ${JSON.stringify(reason)}` : ""}`;
  // 407 is the standard answer; tinyproxy answers wrong credentials with 401.
  if (status === 407 || status === 401) {
    throw new ProxyError(
      "proxy_auth_required",
      `Cannot reach ${relay} ${via}: the proxy needs credentials (${said}); ` +
        (hadCredentials
          ? "it refused the ones given: check proxy_credentials_file or ZTNA_PROXY_CREDENTIALS"
          : "put user:password in proxy_credentials_file or ZTNA_PROXY_CREDENTIALS"),
      status,
    );
  }
  if (status < 200 || status > 299) {
    const why = status === 403
      ? "the proxy forbids this destination (ask its operator to allow CONNECT to this host and port)"
      : status === 502 || status === 503 || status === 504
      ? "the proxy could not reach the relay"
      : "the proxy refused the tunnel";
    throw new ProxyError("proxy_refused", `Cannot reach ${relay} ${via}: ${why} (${said})`, status);
  }
  // TLS starts with our ClientHello: a proxy that sends bytes first is not a plain tunnel.
  if (answer.extra > 0) {
    throw new ProxyError(
      "proxy_protocol",
      `Cannot reach ${relay} ${via}: the proxy sent ${answer.extra} bytes after its answer`,
      status,
    );
  }
}
