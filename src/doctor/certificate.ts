/**
 * The relay's certificate chain as a TLS client verified it, over TCP: Deno's TLS and QUIC APIs do
 * not show the peer certificate, Node's `tls` module under Deno does (`getPeerCertificate`). Only
 * a verified chain is read: an untrusted one ends the handshake, and its error is the answer.
 * @module
 */
import { isIP } from "node:net";
import tls from "node:tls";
import type { HostPortValue } from "../protocol/address.ts";
import type { CertificateFacts } from "./report.ts";
import { ALPN_TCP } from "../protocol/mod.ts";

/** `CN=…, O=…` of a certificate name. */
function name(n: tls.Certificate | undefined): string {
  if (n === undefined) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(n)) {
    if (typeof v === "string") parts.push(`${k}=${v}`);
    else if (Array.isArray(v)) parts.push(`${k}=${v.join("+")}`);
  }
  return parts.join(", ");
}

/**
 * The verified chain of the relay at `target` (TCP, no proxy), or undefined when the handshake
 * fails or takes longer than `timeoutMs`.
 */
export function certificateChain(
  target: HostPortValue,
  options: { serverName: string; caCerts?: string[]; timeoutMs: number },
): Promise<CertificateFacts | undefined> {
  // Node takes no IP address as TLS name (SNI): it checks the certificate against the host it
  // dials, so an IP name can be checked only when it is the address dialed.
  const ipName = isIP(options.serverName) !== 0;
  if (ipName && options.serverName !== target.hostname) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    let socket: tls.TLSSocket;
    try {
      socket = tls.connect({
        host: target.hostname,
        port: target.port,
        ...(ipName ? {} : { servername: options.serverName }),
        ...(options.caCerts ? { ca: options.caCerts } : {}),
        ALPNProtocols: [ALPN_TCP],
      });
    } catch {
      return resolve(undefined);
    }
    const done = (value: CertificateFacts | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), options.timeoutMs);
    socket.once("error", () => done(undefined));
    socket.once("secureConnect", () => {
      const leaf = socket.getPeerCertificate(true);
      if (!socket.authorized || leaf === undefined || !("subject" in leaf)) return done(undefined);
      const chain: string[] = [];
      let at: tls.DetailedPeerCertificate | undefined = leaf;
      // Bounded: a chain is a few certificates; a self-issued root points at itself.
      for (let i = 0; at !== undefined && i < 8; i++) {
        chain.push(name(at.subject));
        const next: tls.DetailedPeerCertificate | undefined = at.issuerCertificate;
        if (next === undefined || next === at || next.fingerprint256 === at.fingerprint256) break;
        at = next;
      }
      done({
        subject: name(leaf.subject),
        issuer: name(leaf.issuer),
        validTo: leaf.valid_to,
        chain,
      });
    });
  });
}
