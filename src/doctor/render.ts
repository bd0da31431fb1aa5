/**
 * The doctor's report as text for a terminal: one block per relay, the token, the proxy, the NAT
 * and the direct path, and the verdict as the last line. Never the token or proxy credentials.
 * Pure: no I/O.
 * @module
 */
import type { DoctorReport, QuicFacts, RelayFacts, TcpFacts } from "./report.ts";

const ms = (n: number) => `${Math.round(n)} ms`;

function quicLine(q: QuicFacts | undefined, r: RelayFacts): string {
  if (q === undefined) return `not tried (through proxy ${r.proxy}: QUIC is UDP)`;
  if (!q.ok) return `FAILED (${q.code ?? q.kind}) — ${q.detail}`;
  return `ok — handshake ${ms(q.handshakeMs)}, HELLO round trip ${ms(q.helloMs)}; identity ` +
    `${q.identity}, grants ${q.services.join(", ") || "nothing"}; relay sees us at ` +
    `${q.observed.hostname}:${q.observed.port}`;
}

function tcpLine(t: TcpFacts, r: RelayFacts): string {
  const via = r.proxy === undefined ? "" : ` through proxy ${r.proxy}`;
  switch (t.state) {
    case "ok":
      return `ok${via} — TLS ${ms(t.handshakeMs)}${t.hello ? ", HELLO answered" : ""}`;
    case "not_offered":
      return `not offered — ${t.detail}`;
    case "failed":
      return `FAILED${via} (${t.code ?? t.kind}) — ${t.detail}`;
  }
}

function certLine(r: RelayFacts): string {
  const cert = r.tcp.state === "ok" ? r.tcp.certificate : undefined;
  if (cert !== undefined) {
    return `${cert.subject}, issued by ${cert.issuer}, valid to ${cert.validTo}; chain: ` +
      cert.chain.join(" ← ");
  }
  const failed = [r.quic, r.tcp].find((f) =>
    f !== undefined && "kind" in f && f.kind === "untrusted_certificate"
  );
  if (failed) return "NOT TRUSTED (see above)";
  if (r.quic?.ok || r.tcp.state === "ok") {
    return `verified for "${r.serverName}" (details are shown over TCP without a proxy only: ` +
      "QUIC does not expose the certificate)";
  }
  return "not seen (no handshake completed)";
}

/** The text report; ends with a newline. */
export function renderReport(report: DoctorReport): string {
  const lines: string[] = [`ztna doctor: ${report.role} config ${report.config}`];
  const t = report.token;
  lines.push(
    t.readable
      ? `Token:  id ${t.id}, subject ${t.subject}, role ${t.role}, grants ` +
        `${t.services.join(", ")}; expires ${t.expiresAt}${t.expired ? " (EXPIRED)" : ""}`
      : "Token:  UNREADABLE (not a ztna token)",
  );
  lines.push(
    report.proxy === null
      ? "Proxy:  none"
      : `Proxy:  ${report.proxy.url}${
        report.proxy.noProxy.length > 0 ? ` (not for: ${report.proxy.noProxy.join(", ")})` : ""
      }`,
  );
  for (const r of report.relays) {
    lines.push(`Relay ${r.address} (TLS name ${r.serverName})`);
    lines.push(`  name: ${r.dns.ok ? r.dns.addresses.join(", ") : `FAILED — ${r.dns.detail}`}`);
    lines.push(`  QUIC: ${quicLine(r.quic, r)}`);
    lines.push(`  TCP:  ${tcpLine(r.tcp, r)}`);
    lines.push(`  cert: ${certLine(r)}`);
  }
  lines.push(`NAT:    ${report.nat.mapping} — ${report.nat.why}`);
  const d = report.direct;
  if (d !== null) {
    const state = d.possible === null ? "unknown" : d.possible ? "possible" : "not possible";
    lines.push(`Direct path to ${d.service}: ${state} — ${d.why}`);
  }
  lines.push(`Verdict: ${report.verdict.ok ? "OK" : "FAIL"} — ${report.verdict.line}`);
  return lines.join("\n") + "\n";
}
