/**
 * Turns what fetch reports when the admin endpoint cannot be reached into a sentence naming the
 * URL and the fix: untrusted certificate (pass --ca), http against https and the reverse, nothing
 * listening, unknown host, timeout. Also decides whether a URL may carry the admin token in clear.
 * Pure: no I/O.
 * @module
 */
import { isLoopbackHost } from "../../config/mod.ts";

/** The causes fetch nests, flattened to one lowercase string (Deno puts the detail in `cause`). */
function details(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    parts.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(" / ").toLowerCase();
}

/** Why the endpoint at `url` could not be reached, and what to do; never echoes request headers. */
export function describeFetchFailure(
  error: unknown,
  url: URL,
  hasCa: boolean,
): { reason: string; hint: string } {
  const text = details(error);
  const https = url.protocol === "https:";
  const where = `${url.hostname}:${url.port || (https ? "443" : "80")}`;
  if (
    error instanceof DOMException && error.name === "TimeoutError" || text.includes("timed out")
  ) {
    return {
      reason: "no answer in time",
      hint: `is ${where} the relay's [intermediate.admin] listen address, and not firewalled?`,
    };
  }
  if (text.includes("invalid peer certificate") || text.includes("certificate")) {
    // rustls words some reasons as one identifier (UnknownIssuer), others as a sentence.
    const which = /certificate expired|not valid (after|before)|notvalidyet/.test(text)
      ? "it has expired or is not valid yet"
      : /not valid for name|notvalidforname/.test(text)
      ? `it does not name ${url.hostname}`
      : text.match(/invalid peer certificate: ([a-z0-9_]+)/)?.[1] ?? "not trusted";
    return {
      reason: `the endpoint's certificate is not trusted (${which})`,
      hint: hasCa
        ? "--ca must hold the CA that signed the relay's certificate, and --url's host must be " +
          "one of the certificate's names"
        : "pass --ca <file> with the CA that signed the relay's certificate " +
          "(e.g. /etc/ztna/ca.crt); TLS is always verified",
    };
  }
  if (text.includes("invalid http version") || text.includes("connection closed before")) {
    return {
      reason: "the endpoint did not answer plain HTTP (it serves HTTPS: [intermediate.admin] tls)",
      hint: `use --url https://${where} (with --ca if the relay's CA is private)`,
    };
  }
  if (text.includes("invalidcontenttype") || text.includes("corrupt message")) {
    return {
      reason: "the endpoint did not answer TLS (it serves plain HTTP)",
      hint: `use --url http://${where} (plain HTTP is allowed on loopback only)`,
    };
  }
  if (text.includes("connection refused")) {
    return {
      reason: `nothing listens on ${where} (connection refused)`,
      hint: "start the relay, or point --url at its [intermediate.admin] listen address " +
        '(the relay logs it: "Admin endpoint listening on …")',
    };
  }
  if (text.includes("dns error") || text.includes("lookup address") || text.includes("resolve")) {
    return {
      reason: `cannot resolve the host name ${url.hostname}`,
      hint: "check --url",
    };
  }
  return {
    reason: (error instanceof Error ? error.message : String(error)).split("\n")[0],
    hint: "check --url and that the relay runs with [intermediate.admin] enabled",
  };
}

/**
 * Why an admin token may not be sent to `url`, or undefined when it may: plain HTTP only to a
 * loopback host (as the relay only serves plain HTTP on loopback), so the token never crosses a
 * network in clear text.
 */
export function cleartextRefusal(url: URL): string | undefined {
  if (url.protocol !== "http:") return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isLoopbackHost(host)) return undefined;
  return `refusing to send the admin token over plain http to ${url.host}: it would cross the ` +
    `network in clear text; use https://${url.host} (the relay serves HTTPS with ` +
    "[intermediate.admin] tls = true) and --ca if its CA is private";
}

/** Admin tokens as `ztna admin admin-token create` makes them (prefix and base64url). */
const ADMIN_TOKEN_SHAPE = /^ztna_admin_[A-Za-z0-9_-]{16,500}$/;

/** True when `text` looks like an admin token; other files are never sent. */
export function looksLikeAdminToken(text: string): boolean {
  return ADMIN_TOKEN_SHAPE.test(text);
}
