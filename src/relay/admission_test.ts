/**
 * Tests of the relay's pure admission decisions: every decision and every refusal code of a
 * connection, an open, a relayed flow (pool choice included) and a registration, in their order.
 * @module
 */
import assert from "node:assert/strict";
import type { Identity } from "../auth/mod.ts";
import {
  admitConnection,
  admitFlow,
  admitHandshakeRate,
  admitMember,
  admitOpen,
  admitRegistration,
  admitSource,
  type FlowState,
  mayWaitForConnector,
  REGISTRATION_GRACE_MS,
  sameTransport,
} from "./admission.ts";
import { ConnectorRegistry } from "./registry.ts";
import type { PeerLink } from "../transport/peer_link.ts";

const NOW = 1_800_000_000_000;

function identity(overrides: Partial<Identity> = {}): Identity {
  return {
    subject: "alice",
    role: "client",
    services: ["web"],
    tokenId: "tok-alice-0123456789",
    expiresAtMs: NOW + 60_000,
    ...overrides,
  };
}

/** The outcome as one comparable value: "allow", or the code and the rate limit that bit. */
function outcome(d: { allow: true } | { allow: false; code: string; rateLimit?: string }) {
  return d.allow ? "allow" : d.rateLimit ? `${d.code}/${d.rateLimit}` : d.code;
}

Deno.test("admitConnection(): draining, then the connection cap", () => {
  const at = (draining: boolean, sessions: number) =>
    outcome(admitConnection({ draining, sessions, maxConnections: 2 }));
  assert.equal(at(false, 1), "allow");
  assert.equal(at(false, 2), "relay_overloaded");
  assert.equal(at(true, 0), "going_away");
  assert.equal(at(true, 2), "going_away", "draining wins: its peers should move at once");
  const full = admitConnection({ draining: false, sessions: 5, maxConnections: 5 });
  assert.ok(!full.allow && full.why === "max_connections = 5");
});

Deno.test("admitHandshakeRate() and admitSource() turn a limiter's answer into a decision", () => {
  assert.equal(outcome(admitHandshakeRate(true, 500)), "allow");
  assert.equal(outcome(admitHandshakeRate(false, 500)), "limit_exceeded/handshakes_total");
  assert.equal(outcome(admitSource(true, 10, 20)), "allow");
  const source = admitSource(false, 10, 20);
  assert.equal(outcome(source), "limit_exceeded/handshakes_per_source");
  assert.ok(!source.allow && source.why.includes("handshakes_per_second_per_source = 10"));
});

Deno.test("admitOpen(): rate, then revocation and expiry, then the grant", () => {
  const open = (over: Partial<Parameters<typeof admitOpen>[0]> = {}) =>
    outcome(admitOpen({
      identity: identity(),
      service: "web",
      rateAllowed: true,
      invalid: undefined,
      nowMs: NOW,
      ...over,
    }));
  assert.equal(open(), "allow");
  assert.equal(open({ rateAllowed: false }), "limit_exceeded/flow_opens_per_identity");
  assert.equal(
    open({ rateAllowed: false, invalid: "token_revoked" }),
    "limit_exceeded/flow_opens_per_identity",
  );
  assert.equal(open({ invalid: "token_revoked" }), "token_revoked");
  assert.equal(open({ invalid: "token_expired" }), "token_expired");
  assert.equal(open({ service: "db" }), "unauthorized");
  assert.equal(open({ identity: identity({ role: "connector" }) }), "unauthorized");
  assert.equal(open({ service: "Bad Id" }), "invalid_service_id");
  assert.equal(open({ nowMs: NOW + 60_000 }), "token_expired", "at exp, with no grace");
});

Deno.test("admitFlow(): draining, the flow cap, the open's checks, then the pool", () => {
  const registry = new ConnectorRegistry<{ connId: string; activeFlows: number }>();
  const a = { connId: "a", activeFlows: 0 };
  const b = { connId: "b", activeFlows: 0 };
  registry.add("web", a);
  registry.add("web", b);
  registry.add("dns/udp", a);
  registry.add("gone", b);
  registry.removeConnection("b");
  registry.add("web", b);
  const base: FlowState<typeof a> = {
    identity: identity({ services: ["*"] }),
    service: "web",
    protocol: "tcp",
    draining: false,
    activeFlows: 1,
    maxFlows: 10,
    rateAllowed: true,
    invalid: undefined,
    nowMs: NOW,
    pools: registry,
  };
  const flow = (over: Partial<FlowState<typeof a>> = {}) => admitFlow({ ...base, ...over });
  assert.equal(outcome(flow({ draining: true, rateAllowed: false })), "going_away");
  assert.equal(outcome(flow({ activeFlows: 11 })), "relay_overloaded");
  assert.equal(outcome(flow({ activeFlows: 10 })), "allow", "the cap counts this flow");
  assert.equal(outcome(flow({ rateAllowed: false })), "limit_exceeded/flow_opens_per_identity");
  assert.equal(outcome(flow({ invalid: "token_revoked" })), "token_revoked");
  assert.equal(outcome(flow({ identity: identity(), service: "ssh" })), "unauthorized");
  assert.equal(outcome(flow({ service: "gone" })), "no_connector", "its pool is empty now");
  assert.equal(outcome(flow({ service: "never" })), "unknown_service");
  assert.equal(outcome(flow({ service: "dns" })), "unknown_service", "TCP and UDP pools apart");
  const udp = flow({ service: "dns", protocol: "udp" });
  assert.ok(udp.allow && udp.member === a && udp.pool === "dns/udp");
  // The pool is chosen by the registry: least active flows, then round robin.
  const first = flow();
  const second = flow();
  assert.ok(first.allow && second.allow && first.member !== second.member);
});

Deno.test("admitMember(): skips tried members, prefers healthy ones, says what was missing", () => {
  type M = { connId: string; activeFlows: number; suspect?: boolean };
  const registry = new ConnectorRegistry<M>();
  const a: M = { connId: "a", activeFlows: 0 };
  const b: M = { connId: "b", activeFlows: 3 };
  registry.add("web", a);
  registry.add("web", b);
  const pick = (over: Partial<Parameters<typeof admitMember<M>>[0]> = {}) =>
    admitMember({ service: "web", protocol: "tcp", pools: registry, ...over });
  const first = pick();
  assert.ok(first.allow && first.member === a, "fewest flows");
  a.suspect = true;
  const healthy = pick();
  assert.ok(healthy.allow && healthy.member === b, "a silent member is passed over");
  const retry = pick({ exclude: new Set(["b"]) });
  assert.ok(retry.allow && retry.member === a, "a suspect is still better than no one");
  const none = pick({ exclude: new Set(["a", "b"]) });
  assert.equal(outcome(none), "no_connector");
  assert.ok(!none.allow && none.why.includes("no other connector"));
  a.suspect = false;
  const back = pick();
  assert.ok(back.allow && back.member === a, "healthy again once it answers");
  // Never registered: a misspelling after the grace, but maybe a connector on its way before it.
  assert.equal(outcome(pick({ service: "ssh" })), "unknown_service");
  assert.equal(
    outcome(pick({ service: "ssh", uptimeMs: REGISTRATION_GRACE_MS })),
    "unknown_service",
  );
  const early = pick({ service: "ssh", uptimeMs: 37 });
  assert.equal(outcome(early), "no_connector", "37 ms after a restart nothing has re-homed yet");
  assert.ok(!early.allow && early.why.includes("since the relay started"));
});

Deno.test("mayWaitForConnector(): only no_connector waits, and only while time is left", () => {
  const noConnector = { allow: false as const, code: "no_connector" as const, why: "" };
  assert.equal(mayWaitForConnector(noConnector, 100), true);
  assert.equal(mayWaitForConnector(noConnector, 0), false);
  assert.equal(
    mayWaitForConnector({ allow: false, code: "unknown_service", why: "" }, 100),
    false,
    "a name no connector serves fails at once",
  );
  assert.equal(mayWaitForConnector({ allow: false, code: "unauthorized", why: "" }, 100), false);
});

Deno.test("admitRegistration(): the registration rate, then the grant", () => {
  const connector = identity({ role: "connector", services: ["web"] });
  assert.equal(outcome(admitRegistration(connector, "web", true, 120)), "allow");
  const limited = admitRegistration(connector, "web", false, 120);
  assert.equal(outcome(limited), "limit_exceeded/registrations_per_identity");
  assert.ok(!limited.allow && limited.why === "registrations_per_minute_per_identity = 120");
  assert.equal(outcome(admitRegistration(connector, "db", true, 120)), "unauthorized");
  assert.equal(outcome(admitRegistration(identity(), "web", true, 120)), "unauthorized");
  assert.equal(outcome(admitRegistration(connector, "-bad", true, 120)), "invalid_service_id");
});

Deno.test("admitMember(): prefers the member on the client link's transport (sameTransport)", () => {
  type M = { connId: string; activeFlows: number; suspect?: boolean; conn: PeerLink };
  const link = (transport?: "tcp") => ({ transport }) as unknown as PeerLink;
  const registry = new ConnectorRegistry<M>();
  const quic: M = { connId: "q", activeFlows: 3, conn: link() };
  const tcp: M = { connId: "t", activeFlows: 4, conn: link("tcp") };
  registry.add("web", quic);
  registry.add("web", tcp);
  const pick = (over: Partial<Parameters<typeof admitMember<M>>[0]> = {}) =>
    admitMember({ service: "web", protocol: "tcp", pools: registry, ...over });
  const fromTcp = pick({ prefer: sameTransport("tcp") });
  assert.ok(fromTcp.allow && fromTcp.member === tcp, "a flow from a TCP lane: the TCP member");
  const fromQuic = pick({ prefer: sameTransport("quic") });
  assert.ok(fromQuic.allow && fromQuic.member === quic, "a flow from QUIC: the QUIC member");
  quic.activeFlows = 9;
  const still = pick({ prefer: sameTransport("quic") });
  assert.ok(still.allow && still.member === quic, "the transport before the load");
  quic.suspect = true;
  const fallback = pick({ prefer: sameTransport("quic") });
  assert.ok(fallback.allow && fallback.member === tcp, "a silent preferred one: any healthy one");
  const none = pick({ prefer: sameTransport("quic"), exclude: new Set(["t"]) });
  assert.ok(none.allow && none.member === quic, "then a suspect");
});
