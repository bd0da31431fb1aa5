/**
 * HTTP CONNECT (RFC 9110, section 9.3.6) request heads for the client's HTTP proxy endpoint. Pure:
 * no I/O. Only CONNECT is served: the endpoint is a tunnel entrance, not a forwarding web proxy.
 * @module
 */

/** Longest request head accepted (request line and headers), in bytes. */
export const MAX_CONNECT_HEAD = 8_192;

/** Result of {@link parseConnectHead}. */
export type ConnectHead =
  | {
    kind: "connect";
    host: string;
    port: number;
    used: number;
    /** The Proxy-Authorization header's value, if sent (a secret: never logged). */
    proxyAuthorization?: string;
  }
  | { kind: "incomplete" }
  | { kind: "error"; status: 400 | 405 | 431; why: string };

const CRLF2 = [13, 10, 13, 10];

/** Parses a request head ending in CRLF CRLF; the authority's host is returned lower-cased. */
export function parseConnectHead(buf: Uint8Array): ConnectHead {
  let end = -1;
  for (let i = 0; i + 3 < buf.byteLength && i < MAX_CONNECT_HEAD; i++) {
    if (CRLF2.every((b, j) => buf[i + j] === b)) {
      end = i;
      break;
    }
  }
  if (end < 0) {
    return buf.byteLength >= MAX_CONNECT_HEAD
      ? { kind: "error", status: 431, why: "request head too large" }
      : { kind: "incomplete" };
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(0, end));
  } catch {
    return { kind: "error", status: 400, why: "request head is not UTF-8" };
  }
  const line = text.split("\r\n", 1)[0];
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(line);
  if (!m) return { kind: "error", status: 400, why: "malformed request line" };
  if (m[1] !== "CONNECT") return { kind: "error", status: 405, why: `method ${m[1]}` };
  const authority = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]/@]+):(\d{1,5})$/.exec(m[2]);
  if (!authority) return { kind: "error", status: 400, why: "target is not host:port" };
  const port = Number(authority[2]);
  if (port < 1 || port > 65_535) return { kind: "error", status: 400, why: "port out of range" };
  const host = authority[1].replace(/^\[|\]$/g, "").toLowerCase();
  const auth = text.split("\r\n").slice(1).find((h) => /^proxy-authorization:/i.test(h));
  return {
    kind: "connect",
    host,
    port,
    used: end + 4,
    ...(auth === undefined ? {} : { proxyAuthorization: auth.slice(auth.indexOf(":") + 1).trim() }),
  };
}

/**
 * The user and password of a `Basic` Proxy-Authorization value (RFC 7617), or undefined for any
 * other scheme or malformed text.
 */
export function parseBasicAuth(value: string): { username: string; password: string } | undefined {
  const m = /^basic\s+([A-Za-z0-9+/]+=*)$/i.exec(value.trim());
  if (!m) return undefined;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
  const at = text.indexOf(":");
  return at < 0 ? undefined : { username: text.slice(0, at), password: text.slice(at + 1) };
}

const REASONS: Record<number, string> = {
  200: "Connection Established",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  407: "Proxy Authentication Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** A response head with `status`; errors carry a one-line body saying why (no addresses). */
export function connectResponse(status: number, why = ""): Uint8Array {
  const reason = REASONS[status] ?? "Error";
  if (status === 200) return new TextEncoder().encode(`HTTP/1.1 200 ${reason}\r\n\r\n`);
  const body = why ? `${why}\n` : "";
  // 407 names the scheme the endpoint takes (RFC 9110, section 11.7.1).
  const challenge = status === 407 ? 'Proxy-Authenticate: Basic realm="ztna"\r\n' : "";
  return new TextEncoder().encode(
    `HTTP/1.1 ${status} ${reason}\r\n${challenge}Content-Type: text/plain\r\nContent-Length: ${
      new TextEncoder().encode(body).byteLength
    }\r\nConnection: close\r\n\r\n${body}`,
  );
}
