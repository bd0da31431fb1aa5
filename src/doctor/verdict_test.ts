/**
 * Unit tests of the doctor's verdict over every case: fine, partial, UDP blocked, proxy only,
 * refused tokens (expired, revoked, wrong role, bad signature), local expiry, untrusted
 * certificate, proxy failures, DNS, no TCP, unreachable, service not granted, unreadable token;
 * and the report schema round trip.
 * @module
 */
import assert from "node:assert/strict";
import { type DoctorFacts, DoctorReport, type RelayFacts } from "./report.ts";
import { verdict } from "./verdict.ts";

const TOKEN: DoctorFacts["token"] = {
  readable: true,
  id: "abcdefghijklmnopqrstuv",
  subject: "alice",
  role: "client",
  services: ["web"],
  expiresAt: "2030-01-01T00:00:00.000Z",
  expired: false,
};

const QUIC_OK: NonNullable<RelayFacts["quic"]> = {
  ok: true,
  handshakeMs: 4.2,
  helloMs: 1,
  identity: "alice",
  services: ["web"],
  observed: { hostname: "192.0.2.1", port: 5000 },
  tokenExpiresAt: 0,
};

function relay(over: Partial<RelayFacts> = {}): RelayFacts {
  return {
    address: "relay.example.com:443",
    serverName: "relay.example.com",
    dns: { ok: true, addresses: ["192.0.2.9"] },
    quic: QUIC_OK,
    tcp: { state: "not_offered", detail: "nothing accepts TCP on port 443" },
    ...over,
  };
}

function facts(relays: RelayFacts[], over: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    role: "client",
    config: "client.toml",
    proxy: null,
    token: TOKEN,
    relays,
    nat: { mapping: "unknown", why: "", observations: [] },
    direct: null,
    ...over,
  };
}

const unreachable = { ok: false as const, kind: "unreachable" as const, detail: "timed out" };
const refused = (code: string) => ({
  ok: false as const,
  kind: "refused" as const,
  code,
  detail: code,
});

Deno.test("verdict() says all good when QUIC works, with the direct path's reason", () => {
  const v = verdict(facts([relay()]));
  assert.deepEqual([v.ok, v.code], [true, "ok"]);
  assert.match(v.line, /All good: QUIC to relay\.example\.com:443 in 4 ms/);
  const noDirect = verdict(facts([relay()], {
    direct: { service: "web", possible: false, code: "no_connector", why: "none accepts" },
  }));
  assert.match(noDirect.line, /no direct path to web: none accepts \(flows use the relay\)/);
});

Deno.test("verdict() calls UDP blocked with TCP working fine, and names the UDP port", () => {
  const v = verdict(
    facts([relay({ quic: unreachable, tcp: { state: "ok", handshakeMs: 3, hello: true } })]),
  );
  assert.deepEqual([v.ok, v.code], [true, "udp_blocked"]);
  assert.match(v.line, /TCP works — fine, or open 443\/udp for better performance/);
});

Deno.test("verdict() reports a proxy-only path as fine", () => {
  const v = verdict(facts([relay({
    quic: undefined,
    proxy: "http://proxy:3128",
    tcp: { state: "ok", handshakeMs: 3, hello: true },
  })]));
  assert.deepEqual([v.ok, v.code], [true, "via_proxy"]);
});

Deno.test("verdict() names each refusal of the token with its fix", async (t) => {
  for (
    const [code, expected, words] of [
      [
        "token_expired",
        "token_expired",
        /Token expired at 2030-01-01T00:00:00\.000Z: get a new token/,
      ],
      ["token_revoked", "token_revoked", /revoked/],
      ["role_mismatch", "wrong_role", /get a client token/],
      ["token_invalid", "token_invalid", /token_public_keys/],
      ["limit_exceeded", "refused", /limit_exceeded/],
    ] as const
  ) {
    await t.step(code, () => {
      const v = verdict(facts([relay({ quic: refused(code) })]));
      assert.deepEqual([v.ok, v.code], [false, expected]);
      assert.match(v.line, words);
    });
  }
});

Deno.test("verdict() prefers a refusal on any relay over the first relay's network failure", () => {
  const v = verdict(
    facts([
      relay({ quic: unreachable, tcp: { state: "not_offered", detail: "" } }),
      relay({ quic: refused("token_revoked") }),
    ]),
  );
  assert.equal(v.code, "token_revoked");
});

Deno.test("verdict() lets no TLS-only TCP check hide a refusal or an expired token", () => {
  const tlsOnly = { state: "ok" as const, handshakeMs: 1, hello: false };
  const refusedQuic = verdict(facts([relay({ quic: refused("token_expired"), tcp: tlsOnly })]));
  assert.deepEqual([refusedQuic.ok, refusedQuic.code], [false, "token_expired"]);
  const expiredHere = verdict(facts([relay({ quic: unreachable, tcp: tlsOnly })], {
    token: { ...TOKEN, expired: true },
  }));
  assert.deepEqual([expiredHere.ok, expiredHere.code], [false, "token_expired"]);
});

Deno.test("verdict() says a locally expired token when no relay answered", () => {
  const v = verdict(facts([relay({ quic: unreachable })], { token: { ...TOKEN, expired: true } }));
  assert.deepEqual([v.ok, v.code], [false, "token_expired"]);
});

Deno.test("verdict() says set ca for an untrusted certificate", () => {
  const v = verdict(facts([relay({
    quic: { ok: false, kind: "untrusted_certificate", detail: "UnknownIssuer" },
  })]));
  assert.deepEqual([v.ok, v.code], [false, "certificate_untrusted"]);
  assert.match(v.line, /not trusted: set ca = /);
});

Deno.test("verdict() names proxy credentials, refusals and unreachable proxies", async (t) => {
  for (
    const [kind, code, words] of [
      [
        "proxy_auth_required",
        "proxy_credentials",
        /proxy_credentials_file or ZTNA_PROXY_CREDENTIALS/,
      ],
      ["proxy_refused", "proxy_refused", /allow CONNECT to relay\.example\.com:443/],
      ["proxy_unreachable", "proxy_unreachable", /HTTPS_PROXY/],
      ["proxy_timeout", "proxy_timeout", /HTTPS_PROXY/],
    ] as const
  ) {
    await t.step(kind, () => {
      const v = verdict(facts([relay({
        quic: undefined,
        proxy: "http://proxy:3128",
        tcp: { state: "failed", kind, detail: "x" },
      })]));
      assert.deepEqual([v.ok, v.code], [false, code]);
      assert.match(v.line, words);
    });
  }
});

Deno.test("verdict() says DNS, no TCP transport, and unreachable apart", () => {
  const dns = verdict(
    facts([
      relay({
        dns: { ok: false, detail: "ENOTFOUND" },
        quic: unreachable,
        tcp: { state: "failed", kind: "unreachable", detail: "" },
      }),
    ]),
  );
  assert.equal(dns.code, "dns");
  const noTcp = verdict(facts([relay({ quic: unreachable })]));
  assert.deepEqual([noTcp.ok, noTcp.code], [false, "udp_blocked_no_tcp"]);
  assert.match(noTcp.line, /open 443\/udp outbound, or ask its operator to enable TCP on 443\/tcp/);
  const none = verdict(
    facts([
      relay({
        quic: unreachable,
        tcp: { state: "failed", kind: "unreachable", detail: "refused" },
      }),
    ]),
  );
  assert.deepEqual([none.ok, none.code], [false, "unreachable"]);
});

Deno.test("verdict() says partial when one relay works and another does not", () => {
  const v = verdict(facts([relay(), relay({ address: "b.example.com:443", quic: unreachable })]));
  assert.deepEqual([v.ok, v.code], [true, "partial"]);
  assert.match(v.line, /b\.example\.com:443/);
});

Deno.test("verdict() fails a service the relay does not grant, and an unreadable token", () => {
  const v = verdict(facts([relay()], { direct: { service: "db", possible: false, why: "" } }));
  assert.deepEqual([v.ok, v.code], [false, "service_not_granted"]);
  assert.match(v.line, /grants web, not db/);
  const star = verdict(facts([relay({ quic: { ...QUIC_OK, services: ["*"] } })], {
    direct: { service: "db", possible: true, why: "" },
  }));
  assert.equal(star.ok, true);
  assert.equal(verdict(facts([relay()], { token: { readable: false } })).code, "token_unreadable");
  assert.equal(verdict(facts([])).code, "no_relay");
});

Deno.test("DoctorReport parses a report built from facts and refuses a wrong shape", () => {
  const f = facts([relay()]);
  const report = { version: 1, checkedAt: new Date(0).toISOString(), ...f, verdict: verdict(f) };
  assert.deepEqual(DoctorReport.parse(JSON.parse(JSON.stringify(report))), report);
  assert.equal(DoctorReport.safeParse({ ...report, version: 2 }).success, false);
  assert.equal(DoctorReport.safeParse({ ...report, extra: 1 }).success, false);
});
