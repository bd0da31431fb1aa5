/**
 * Tests of DirectBroker's decisions: a direct request or renewal passes the checks of a relayed flow
 * (rate, expiry, revocation, grants), tickets end at the token's expiry or the lifetime cap, and a
 * renewal is only for the identity that holds the path, while its connector is registered.
 * @module
 */
import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import type { Identity } from "../auth/mod.ts";
import { verifyTicket } from "../auth/ticket.ts";
import type { ControlMessageInput, ErrorCode } from "../protocol/mod.ts";
import { type BrokerPeer, DirectBroker } from "./direct_broker.ts";
import { ConnectorRegistry } from "./registry.ts";
import { RelayMetrics } from "./relay_metrics.ts";
import { RefusalLog } from "./refusal_log.ts";
import { RefusalObserver } from "./refusal_observer.ts";

const NOW = 1_800_000_000_000;
const LIFETIME = 600_000;

/** A peer that keeps what it is sent. */
function peer(connId: string, direct: string[] = []): BrokerPeer & { sent: ControlMessageInput[] } {
  const sent: ControlMessageInput[] = [];
  return {
    connId,
    activeFlows: 0,
    directServices: new Set(direct),
    sent,
    send: (msg) => {
      sent.push(msg);
      return Promise.resolve();
    },
  };
}

function alice(overrides: Partial<Identity> = {}): Identity {
  return {
    subject: "alice",
    role: "client",
    services: ["web"],
    tokenId: "tok-alice-0123456789",
    expiresAtMs: NOW + 3_600_000,
    ...overrides,
  };
}

/** A broker with one direct-capable connector for `web`, and knobs for the relay's checks. */
function setup() {
  const registry = new ConnectorRegistry<BrokerPeer & { readonly conn: unknown }>();
  const connector = Object.assign(peer("conn0001", ["web"]), { conn: {} });
  registry.add("web", connector);
  const metrics = new RelayMetrics();
  const log = new RefusalLog();
  const state = { revoked: new Set<string>(), tokens: 10, now: NOW };
  const observer = new RefusalObserver({
    metrics,
    refusals: log,
    log: getLogger(["ztna", "test"]),
    clock: () => state.now,
  });
  const broker = new DirectBroker({
    registry,
    metrics,
    log: getLogger(["ztna", "test"]),
    maxPathLifetimeMs: LIFETIME,
    stillValid: (id): ErrorCode | undefined =>
      state.revoked.has(id.tokenId)
        ? "token_revoked"
        : id.expiresAtMs <= state.now
        ? "token_expired"
        : undefined,
    allowFlowOpen: () => state.tokens-- > 0,
    observer,
    now: () => state.now,
  });
  return {
    broker,
    connector,
    metrics,
    get refusals() {
      return log.recent();
    },
    state,
  };
}

const request = { requestId: 1, service: "web", candidates: [{ hostname: "127.0.0.1", port: 9 }] };

/** Runs request → offer → accept and returns the client's `direct_ready` (or refusal). */
async function broker(s: ReturnType<typeof setup>, client: ReturnType<typeof peer>, who: Identity) {
  await s.broker.request(client, who, request);
  const offer = s.connector.sent.at(-1);
  if (offer?.type === "direct_offer") {
    await s.broker.answer(s.connector, {
      type: "direct_accept",
      sessionId: offer.sessionId,
      candidates: [{ hostname: "127.0.0.1", port: 4242 }],
      cert: "c",
      serverName: "s",
    });
  }
  return client.sent.at(-1);
}

Deno.test("DirectBroker refuses a request as a relayed flow would: expired, revoked, rate", async (t) => {
  for (
    const [name, tweak, code] of [
      [
        "expired token",
        (s: ReturnType<typeof setup>) => s.state.now = NOW + 3_600_000,
        "token_expired",
      ],
      [
        "revoked token",
        (s: ReturnType<typeof setup>) => s.state.revoked.add(alice().tokenId),
        "token_revoked",
      ],
      ["rate exhausted", (s: ReturnType<typeof setup>) => s.state.tokens = 0, "limit_exceeded"],
    ] as const
  ) {
    await t.step(name, async () => {
      const s = setup();
      tweak(s);
      const client = peer("client01");
      await s.broker.request(client, alice(), request);
      assert.deepEqual(client.sent, [{ type: "direct_refused", requestId: 1, code }]);
      assert.equal(s.connector.sent.length, 0, "the connector hears nothing");
      assert.equal(s.metrics.directSessions.get(code), 1);
      assert.equal(s.refusals[0]?.code, code);
      assert.equal(s.refusals[0]?.identity, "alice");
    });
  }
  await t.step("a service the token does not grant", async () => {
    const s = setup();
    const client = peer("client01");
    await s.broker.request(client, alice({ services: ["db"] }), request);
    assert.deepEqual(client.sent, [{ type: "direct_refused", requestId: 1, code: "unauthorized" }]);
  });
});

Deno.test("DirectBroker refuses the ticket when the token was revoked while the connector answered", async () => {
  const s = setup();
  const client = peer("client01");
  await s.broker.request(client, alice(), request);
  s.state.revoked.add(alice().tokenId);
  const offer = s.connector.sent[0];
  assert.equal(offer?.type, "direct_offer");
  if (offer?.type !== "direct_offer") return;
  await s.broker.answer(s.connector, {
    type: "direct_accept",
    sessionId: offer.sessionId,
    candidates: [{ hostname: "127.0.0.1", port: 4242 }],
    cert: "c",
    serverName: "s",
  });
  assert.deepEqual(client.sent, [{ type: "direct_refused", requestId: 1, code: "token_revoked" }]);
});

Deno.test("DirectBroker tickets end at the token's expiry or the lifetime cap, whichever is first", async () => {
  for (
    const [expiresAtMs, pxp] of [[NOW + 3_600_000, NOW + LIFETIME], [NOW + 60_000, NOW + 60_000]]
  ) {
    const s = setup();
    const ready = await broker(s, peer("client01"), alice({ expiresAtMs }));
    assert.equal(ready?.type, "direct_ready");
    if (ready?.type !== "direct_ready") return;
    const check = await verifyTicket(await s.broker.publicKey(), ready.ticket, "conn0001", NOW);
    assert.ok(check.ok);
    assert.equal(check.claims.pxp, pxp);
    assert.equal(check.claims.texp, expiresAtMs);
    assert.equal(check.claims.tid, alice().tokenId);
    assert.equal(check.claims.sid, ready.sessionId);
  }
});

Deno.test("DirectBroker renews a path for its identity only, with every check, while its connector lives", async (t) => {
  const s = setup();
  const client = peer("client01");
  const ready = await broker(s, client, alice());
  assert.equal(ready?.type, "direct_ready");
  if (ready?.type !== "direct_ready") return;
  const renew = { requestId: 2, sessionId: ready.sessionId };

  await t.step("from a new relay connection of the same identity, later: a later end", async () => {
    s.state.now = NOW + 300_000;
    const again = peer("client02");
    await s.broker.renew(again, alice(), renew);
    const answer = again.sent[0];
    assert.equal(answer?.type, "direct_renewed");
    if (answer?.type !== "direct_renewed") return;
    const check = await verifyTicket(
      await s.broker.publicKey(),
      answer.ticket,
      "conn0001",
      s.state.now,
    );
    assert.ok(check.ok);
    assert.equal(check.claims.pxp, NOW + 300_000 + LIFETIME);
    assert.equal(check.claims.sid, ready.sessionId);
    assert.equal(s.metrics.directSessions.get("renewed"), 1);
  });
  await t.step("another identity that learned the session id", async () => {
    const mallory = peer("client03");
    await s.broker.renew(mallory, alice({ subject: "mallory" }), renew);
    assert.deepEqual(mallory.sent, [{
      type: "direct_refused",
      requestId: 2,
      code: "unauthorized",
    }]);
  });
  await t.step("a revoked token", async () => {
    s.state.revoked.add(alice().tokenId);
    const c = peer("client04");
    await s.broker.renew(c, alice(), renew);
    assert.deepEqual(c.sent, [{ type: "direct_refused", requestId: 2, code: "token_revoked" }]);
    s.state.revoked.clear();
  });
  await t.step("after the connector's connection is gone", async () => {
    s.broker.forget(s.connector);
    const c = peer("client05");
    await s.broker.renew(c, alice(), renew);
    assert.deepEqual(c.sent, [{ type: "direct_refused", requestId: 2, code: "no_connector" }]);
  });
});
