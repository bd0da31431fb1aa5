/**
 * How an HTTP proxy and its credentials are written: `http://host:port` with nothing else (no
 * credentials, no path), and `user:password` for HTTP Basic.
 * Pure: no I/O.
 * @module
 */

/** A proxy to send CONNECT requests to, parsed from `http://host:port`. */
export interface ProxyEndpoint {
  hostname: string;
  port: number;
  /** `http://host:port`, for logs and errors (never holds credentials). */
  url: string;
}

/** Result of {@link parseProxyUrl}: the endpoint, or a reason fit for a config error. */
export type ProxyUrlResult = { ok: true; value: ProxyEndpoint } | { ok: false; reason: string };

/** Port of an `http://` proxy URL that names none (the URL standard's default for http). */
const HTTP_DEFAULT_PORT = 80;

/**
 * Parses a proxy URL. Only `http://host[:port]` with nothing after the authority: the CONNECT
 * tunnel carries TLS to the relay end to end, so a TLS hop to the proxy would add nothing the relay
 * check does not already give, and Deno offers no TLS-in-TLS on one connection. Credentials are
 * refused here: they belong in `proxy_credentials_file` or ZTNA_PROXY_CREDENTIALS, never in a
 * config file or variable that others read and logs print.
 */
export function parseProxyUrl(text: string): ProxyUrlResult {
  const bad = (why: string): ProxyUrlResult => ({ ok: false, reason: why });
  const url = URL.parse(text);
  if (url === null || !/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    return bad('expected a URL like "http://proxy.example.com:3128"');
  }
  if (url.username !== "" || url.password !== "") {
    return bad(
      "expected no credentials in the proxy URL (they would show wherever the URL does): " +
        "put user:password in proxy_credentials_file or ZTNA_PROXY_CREDENTIALS",
    );
  }
  if (url.protocol !== "http:") {
    return bad(
      `expected an http:// proxy URL, got ${url.protocol}// (the tunnel to the relay is TLS ` +
        "end to end; proxies spoken to over TLS are not supported)",
    );
  }
  if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "") {
    return bad('expected nothing after host:port in the proxy URL, e.g. "http://proxy:3128"');
  }
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  if (hostname === "") return bad("expected a host in the proxy URL");
  const port = url.port === "" ? HTTP_DEFAULT_PORT : Number(url.port);
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return { ok: true, value: { hostname, port, url: `http://${host}:${port}` } };
}

/** Proxy credentials (HTTP Basic), read from `proxy_credentials_file` or ZTNA_PROXY_CREDENTIALS. */
export interface ProxyCredentials {
  user: string;
  password: string;
}

/**
 * Parses `user:password` (the first colon splits; the password may hold more), trimming one
 * trailing newline as files end with. The reason never repeats the text.
 */
export function parseProxyCredentials(
  text: string,
): { ok: true; value: ProxyCredentials } | { ok: false; reason: string } {
  const line = text.replace(/\r?\n$/, "");
  const colon = line.indexOf(":");
  if (colon <= 0) return { ok: false, reason: "expected user:password" };
  if (/[\r\n]/.test(line)) return { ok: false, reason: "expected user:password on one line" };
  return { ok: true, value: { user: line.slice(0, colon), password: line.slice(colon + 1) } };
}
