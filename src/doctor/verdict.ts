/**
 * The doctor's one-line verdict: from the facts, whether this peer has a usable path to a relay,
 * and the one thing to do about what is wrong (or could be better). First failure that explains
 * the others wins: a refused token before a certificate, a certificate before the network.
 * Pure: no I/O.
 * @module
 */
import type { DoctorFacts, RelayFacts, Verdict } from "./report.ts";

const REISSUE = "get a new token (ztna admin token issue …, or ztna login)";

function portOf(address: string): string {
  return address.slice(address.lastIndexOf(":") + 1);
}

/** The refusal code a relay gave over either transport, if any. */
function refusal(r: RelayFacts): string | undefined {
  if (r.quic?.ok === false && r.quic.kind === "refused") return r.quic.code ?? "unknown";
  if (r.tcp.state === "failed" && r.tcp.kind === "refused") return r.tcp.code ?? "unknown";
  return undefined;
}

function refusedVerdict(code: string, r: RelayFacts, facts: DoctorFacts): Omit<Verdict, "ok"> {
  const token = facts.token;
  switch (code) {
    case "token_expired":
      return {
        code: "token_expired",
        line: `Token expired${token.readable ? ` at ${token.expiresAt}` : ""}: ${REISSUE}`,
      };
    case "token_revoked":
      return { code: "token_revoked", line: `Token revoked by the relay's operator: ${REISSUE}` };
    case "role_mismatch":
      return {
        code: "wrong_role",
        line: `Token is for the ${token.readable ? token.role : "other"} role, but this is a ` +
          `${facts.role}: get a ${facts.role} token`,
      };
    case "token_invalid":
      return {
        code: "token_invalid",
        line: `Relay ${r.address} does not accept the token's signature: get a token signed by ` +
          "a key in its token_public_keys",
      };
    default:
      return { code: "refused", line: `Relay ${r.address} refused this ${facts.role}: ${code}` };
  }
}

/**
 * A relay this peer can use: QUIC welcomed it, or TCP works and nothing says the relay would
 * refuse it (a TLS-only TCP check proves no HELLO: a refusal over QUIC or a token expired here
 * stands).
 */
function usable(r: RelayFacts, facts: DoctorFacts): boolean {
  if (r.quic?.ok === true) return true;
  if (r.tcp.state !== "ok" || refusal(r) !== undefined) return false;
  return r.tcp.hello || !(facts.token.readable && facts.token.expired);
}

/** Why one relay cannot be used, in the order that explains the most. */
function relayProblem(r: RelayFacts, facts: DoctorFacts): Omit<Verdict, "ok"> {
  const code = refusal(r);
  if (code !== undefined) return refusedVerdict(code, r, facts);
  if (facts.token.readable && facts.token.expired) {
    return { code: "token_expired", line: `Token expired at ${facts.token.expiresAt}: ${REISSUE}` };
  }
  const failures = [r.quic, r.tcp].filter((f) => f !== undefined && "kind" in f);
  const untrusted = failures.find((f) => f.kind === "untrusted_certificate");
  if (untrusted) {
    return {
      code: "certificate_untrusted",
      line: `Certificate of relay ${r.address} not trusted: set ca = the CA bundle that signed ` +
        `it (or server_name, if the name is wrong) — ${untrusted.detail}`,
    };
  }
  const proxyFailure = failures.find((f) => f.kind.startsWith("proxy_"));
  if (proxyFailure) {
    const fix = proxyFailure.kind === "proxy_auth_required"
      ? "put user:password in proxy_credentials_file or ZTNA_PROXY_CREDENTIALS"
      : proxyFailure.kind === "proxy_refused"
      ? `ask the proxy's operator to allow CONNECT to ${r.address}`
      : "check proxy (or HTTPS_PROXY) and NO_PROXY";
    return {
      code: proxyFailure.kind === "proxy_auth_required" ? "proxy_credentials" : proxyFailure.kind,
      line: `Proxy ${r.proxy ?? ""} does not lead to relay ${r.address}: ${fix}`,
    };
  }
  if (!r.dns.ok) {
    return {
      code: "dns",
      line: `Cannot resolve relay ${r.address}: check its name and this machine's DNS`,
    };
  }
  const port = portOf(r.address);
  if (r.tcp.state === "not_offered") {
    return {
      code: "udp_blocked_no_tcp",
      line: `QUIC (UDP) to relay ${r.address} unreachable and it offers no TCP transport: open ` +
        `${port}/udp outbound, or ask its operator to enable TCP on ${port}/tcp`,
    };
  }
  return {
    code: "unreachable",
    line: `Relay ${r.address} unreachable over UDP and TCP: check the address, that the relay ` +
      `runs, and firewalls (${port}/udp and ${port}/tcp); behind an HTTP proxy, set proxy`,
  };
}

/** The verdict for `facts`: ok when at least one relay is usable (and grants `--service`). */
export function verdict(facts: DoctorFacts): Verdict {
  if (!facts.token.readable) {
    return {
      ok: false,
      code: "token_unreadable",
      line: `The token cannot be read (not a ztna token?): ${REISSUE}`,
    };
  }
  const good = facts.relays.filter((r) => usable(r, facts));
  if (good.length === 0) {
    const first = facts.relays[0];
    if (first === undefined) return { ok: false, code: "no_relay", line: "No relay configured" };
    // A refusal on any relay explains more than a network failure on the first.
    const refused = facts.relays.find((r) => refusal(r) !== undefined) ?? first;
    return { ok: false, ...relayProblem(refused, facts) };
  }
  const service = facts.direct?.service;
  const granted = good.flatMap((r) =>
    r.quic?.ok ? r.quic.services : facts.token.readable ? facts.token.services : []
  );
  if (service !== undefined && !granted.includes("*") && !granted.includes(service)) {
    return {
      ok: false,
      code: "service_not_granted",
      line: `The token grants ${granted.join(", ") || "no service"}, not ${service}: get a token ` +
        `that grants it`,
    };
  }
  return { ok: true, ...goodVerdict(good, facts) };
}

function goodVerdict(good: RelayFacts[], facts: DoctorFacts): Omit<Verdict, "ok"> {
  const bad = facts.relays.filter((r) => !usable(r, facts));
  const quic = good.find((r) => r.quic?.ok === true);
  const direct = facts.direct;
  const directNote = direct && direct.possible === false
    ? `; no direct path to ${direct.service}: ${direct.why} (flows use the relay)`
    : "";
  if (quic?.quic?.ok) {
    if (bad.length > 0) {
      const problem = relayProblem(bad[0], facts);
      return {
        code: "partial",
        line: `Relay ${quic.address} works over QUIC; ${problem.line}${directNote}`,
      };
    }
    return {
      code: "ok",
      line: `All good: QUIC to ${quic.address} in ${Math.round(quic.quic.handshakeMs)} ms` +
        directNote,
    };
  }
  const tcp = good[0];
  if (tcp.proxy !== undefined) {
    return {
      code: "via_proxy",
      line:
        `Reaching relay ${tcp.address} through proxy ${tcp.proxy} over TCP: fine (QUIC cannot ` +
        "pass an HTTP proxy)",
    };
  }
  const port = portOf(tcp.address);
  return {
    code: "udp_blocked",
    line: `UDP to relay ${tcp.address} blocked: TCP works — fine, or open ${port}/udp for ` +
      "better performance",
  };
}
