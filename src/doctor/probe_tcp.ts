/**
 * The doctor's TCP/TLS probe of one relay: TCP to its port (through the HTTP proxy when one
 * applies), TLS with the certificate verified as the roles verify it and the TCP transport's ALPN.
 * A refused TCP connect or another ALPN means the relay does not offer the TCP transport.
 * @module
 */
import type { HostPortValue } from "../protocol/address.ts";
import type { ProxyCredentials, ProxyEndpoint } from "../protocol/proxy_url.ts";
import { deadline, TIMED_OUT } from "../runtime/deadline.ts";
import { connectTcp, ProxyError } from "../transport/http_proxy.ts";
import type { TcpFacts } from "./report.ts";

/** ALPN of the TLS-over-TCP transport (src/protocol/link_frames.ts). */
export const TCP_TRANSPORT_ALPN = "ztna-tcp/1";

/** Options of {@link probeTcp}. */
export interface TcpProbeOptions {
  serverName: string;
  caCerts?: string[];
  proxy?: ProxyEndpoint;
  credentials?: ProxyCredentials;
  timeoutMs: number;
}

const UNTRUSTED = /certificate|UnknownIssuer|NotValidForName|Expired|BadSignature/i;

/** Connects and shakes hands; never throws. */
export async function probeTcp(target: HostPortValue, options: TcpProbeOptions): Promise<TcpFacts> {
  const started = performance.now();
  let tcp: Deno.TcpConn;
  try {
    tcp = await connectTcp(target, {
      proxy: options.proxy,
      credentials: options.credentials,
      timeoutMs: options.timeoutMs,
    });
  } catch (e) {
    if (e instanceof ProxyError) {
      // A proxy's 502/503 to our CONNECT: it reached nothing there, like a refused connect.
      return { state: "failed", kind: e.code, detail: e.message };
    }
    if (e instanceof Deno.errors.ConnectionRefused) {
      return { state: "not_offered", detail: `nothing accepts TCP on port ${target.port}` };
    }
    return { state: "failed", kind: "unreachable", detail: message(e) };
  }
  let tls: Deno.TlsConn | undefined;
  try {
    tls = await Deno.startTls(tcp, {
      hostname: options.serverName,
      caCerts: options.caCerts,
      alpnProtocols: [TCP_TRANSPORT_ALPN],
    });
    const hs = await deadline(tls.handshake(), options.timeoutMs);
    if (hs === TIMED_OUT) {
      return { state: "failed", kind: "unreachable", detail: "TLS handshake timed out" };
    }
    if (hs.alpnProtocol !== TCP_TRANSPORT_ALPN) {
      return {
        state: "not_offered",
        detail: `TLS on port ${target.port} answers, but not with ALPN ${TCP_TRANSPORT_ALPN}`,
      };
    }
    return { state: "ok", handshakeMs: performance.now() - started, hello: false };
  } catch (e) {
    const detail = message(e);
    return {
      state: "failed",
      kind: UNTRUSTED.test(detail) ? "untrusted_certificate" : "protocol",
      detail,
    };
  } finally {
    try {
      (tls ?? tcp).close();
    } catch { /* closed */ }
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
