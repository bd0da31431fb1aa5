/**
 * The bytes of an HTTP/1.1 CONNECT exchange with a proxy: the request (with Basic credentials when
 * given), and an incremental reader of the proxy's answer that refuses an answer larger than its
 * limit instead of waiting for it to end.
 * Pure: no I/O.
 * @module
 */
import { formatHostPort, type HostPortValue } from "../protocol/address.ts";
import type { ProxyCredentials } from "../protocol/proxy_url.ts";

export { parseProxyCredentials, type ProxyCredentials } from "../protocol/proxy_url.ts";

/**
 * Bytes of a proxy's answer read at most before giving up. A CONNECT answer is a status line and a
 * few headers (tinyproxy and squid send < 300 bytes); 16 KiB leaves room for chatty proxies while a
 * proxy (or something posing as one) that streams headers cannot hold the dialer or its memory.
 */
export const MAX_PROXY_ANSWER_BYTES = 16 * 1024;

/** `base64(user:password)` over UTF-8, as RFC 7617 asks. */
function basic(credentials: ProxyCredentials): string {
  const bytes = new TextEncoder().encode(`${credentials.user}:${credentials.password}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** The CONNECT request for `target`, with `Proxy-Authorization: Basic …` when credentials are given. */
export function encodeConnectRequest(
  target: HostPortValue,
  credentials?: ProxyCredentials,
): Uint8Array {
  const authority = formatHostPort(target);
  const lines = [
    `CONNECT ${authority} HTTP/1.1`,
    `Host: ${authority}`,
    "User-Agent: ztna",
    ...(credentials ? [`Proxy-Authorization: Basic ${basic(credentials)}`] : []),
    "",
    "",
  ];
  return new TextEncoder().encode(lines.join("\r\n"));
}

/** A proxy's parsed answer to CONNECT. */
export interface ConnectAnswer {
  status: number;
  reason: string;
  /** Header names in lower case; a repeated header keeps its last value. */
  headers: Map<string, string>;
  /** Bytes that came after the header block (the tunnel's first bytes, if any). */
  rest: Uint8Array;
}

/** What {@link ConnectAnswerReader.push} found so far. */
export type AnswerState =
  | { kind: "incomplete" }
  | { kind: "answer"; answer: ConnectAnswer }
  | { kind: "error"; code: "answer_too_large" | "malformed"; detail: string };

const CRLFCRLF = [13, 10, 13, 10];

function headerEnd(buf: Uint8Array, from: number): number {
  for (let i = Math.max(0, from - 3); i + 3 < buf.length; i++) {
    if (
      buf[i] === CRLFCRLF[0] && buf[i + 1] === CRLFCRLF[1] && buf[i + 2] === CRLFCRLF[2] &&
      buf[i + 3] === CRLFCRLF[3]
    ) return i;
  }
  return -1;
}

/** Reads a proxy's answer chunk by chunk; never holds more than its limit. */
export class ConnectAnswerReader {
  #buf = new Uint8Array(0);
  readonly #limit: number;

  /** @param limit bytes of status line and headers accepted. @default {MAX_PROXY_ANSWER_BYTES} */
  constructor(limit: number = MAX_PROXY_ANSWER_BYTES) {
    if (!Number.isInteger(limit) || limit < 16) {
      throw new RangeError(
        `Cannot read proxy answers as 'limit' must be an integer ≥ 16: ${limit}`,
      );
    }
    this.#limit = limit;
  }

  /** Adds bytes read from the proxy; says whether the answer is complete, too large or malformed. */
  push(chunk: Uint8Array): AnswerState {
    const scanFrom = this.#buf.length;
    const keep = Math.min(chunk.length, this.#limit + 4 - this.#buf.length);
    const next = new Uint8Array(this.#buf.length + Math.max(0, keep));
    next.set(this.#buf);
    next.set(chunk.subarray(0, Math.max(0, keep)), this.#buf.length);
    this.#buf = next;
    const end = headerEnd(this.#buf, scanFrom);
    if (end < 0 || end > this.#limit) {
      if (this.#buf.length > this.#limit) {
        return {
          kind: "error",
          code: "answer_too_large",
          detail: `the proxy's answer exceeds ${this.#limit} bytes without ending its headers`,
        };
      }
      return { kind: "incomplete" };
    }
    const rest = chunk.length > keep
      ? concat(this.#buf.subarray(end + 4), chunk.subarray(keep))
      : this.#buf.slice(end + 4);
    return parseHead(new TextDecoder("latin1").decode(this.#buf.subarray(0, end)), rest);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function parseHead(head: string, rest: Uint8Array): AnswerState {
  const [statusLine, ...headerLines] = head.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) {
    return {
      kind: "error",
      code: "malformed",
      detail: `the proxy did not answer with an HTTP/1.x status line (got ${
        JSON.stringify(statusLine.slice(0, 40))
      })`,
    };
  }
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon <= 0) {
      return { kind: "error", code: "malformed", detail: "the proxy sent a malformed header line" };
    }
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return {
    kind: "answer",
    answer: { status: Number(m[1]), reason: (m[2] ?? "").slice(0, 80), headers, rest },
  };
}
