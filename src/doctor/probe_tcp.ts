/**
 * The doctor's TCP/TLS probe of one relay, as a peer on the TCP transport dials it: TCP to its
 * port (through the HTTP proxy when one applies), TLS with the certificate verified as the roles
 * verify it and the transport's ALPN, then HELLO with the token. A refused TCP connect or another
 * ALPN means the relay does not offer the TCP transport.
 * @module
 */
import type { HostPortValue } from "../protocol/address.ts";
import { ALPN_TCP } from "../protocol/mod.ts";
import type { ProxyCredentials, ProxyEndpoint } from "../protocol/proxy_url.ts";
import { connectTcp, ProxyError } from "../transport/http_proxy.ts";
import { DialError, dialLink, helloRelay, type PeerLink } from "../transport/mod.ts";
import type { TcpFacts } from "./report.ts";

/** Options of {@link probeTcp}. */
export interface TcpProbeOptions {
  role: "client" | "connector";
  token: string;
  serverName: string;
  caCerts?: string[];
  proxy?: ProxyEndpoint;
  credentials?: ProxyCredentials;
  timeoutMs: number;
}

/** The first cause in `e`'s chain that is a `T`. */
function causeOf<T>(e: unknown, is: (c: unknown) => c is T): T | undefined {
  for (let c: unknown = e, i = 0; c !== undefined && i < 8; i++) {
    if (is(c)) return c;
    c = c instanceof Error ? c.cause : undefined;
  }
  return undefined;
}

const isProxyError = (c: unknown): c is ProxyError => c instanceof ProxyError;
const isRefused = (c: unknown): c is Deno.errors.ConnectionRefused =>
  c instanceof Deno.errors.ConnectionRefused;

/** Dials over TCP and says HELLO; never throws. */
export async function probeTcp(target: HostPortValue, options: TcpProbeOptions): Promise<TcpFacts> {
  const { timeoutMs, proxy, credentials } = options;
  const started = performance.now();
  let link: PeerLink;
  try {
    link = await dialLink({
      address: `${target.hostname}:${target.port}`,
      server_name: options.serverName,
    }, {
      transport: "tcp",
      caCerts: options.caCerts,
      keepAliveMs: 1_000,
      idleTimeoutMs: timeoutMs,
      timeoutMs,
      connectTcp: (t, signal) => connectTcp(t, { proxy, credentials, timeoutMs, signal }),
    });
  } catch (e) {
    const proxyError = causeOf(e, isProxyError);
    if (proxyError) return { state: "failed", kind: proxyError.code, detail: proxyError.message };
    if (causeOf(e, isRefused)) {
      return { state: "not_offered", detail: `nothing accepts TCP on port ${target.port}` };
    }
    const detail = e instanceof Error ? e.message : String(e);
    if (detail.includes(ALPN_TCP)) {
      return {
        state: "not_offered",
        detail: `TLS on port ${target.port} answers, but not the TCP transport (${ALPN_TCP})`,
      };
    }
    const kind = e instanceof DialError && e.failure.kind !== "refused"
      ? e.failure.kind
      : "unreachable";
    return { state: "failed", kind, detail };
  }
  const handshakeMs = performance.now() - started;
  try {
    await helloRelay(link, options.role, options.token, timeoutMs);
    return { state: "ok", handshakeMs, hello: true };
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    if (e instanceof DialError && e.failure.kind === "refused") {
      return { state: "failed", kind: "refused", code: e.failure.code, detail };
    }
    return { state: "failed", kind: "protocol", detail };
  } finally {
    try {
      link.close({ closeCode: 0, reason: "" });
    } catch { /* closed */ }
  }
}
