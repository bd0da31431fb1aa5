/**
 * Tests of the admin endpoint as a Request → Response function, over a fake relay and the in-memory
 * store: authentication, every route with valid and invalid input, limits, timeouts, audit.
 * @module
 */
import assert from "node:assert/strict";
import { importPublicKeys, TokenVerifier } from "../auth/mod.ts";
import { ADMIN_TOKEN, connection, T0, testDeps, testSigningKey } from "./_test_deps.ts";
import { AdminApp, type AdminAppOptions } from "./admin_app.ts";
import { AuditPage, Problem, Snapshot, TokenPage } from "./api_schemas.ts";

const BASE = "http://127.0.0.1:4434";

interface CallOptions {
  token?: string | null;
  body?: unknown;
  raw?: BodyInit;
  headers?: Record<string, string>;
}

function request(method: string, path: string, options: CallOptions = {}): Request {
  const headers = new Headers(options.headers);
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  let body: BodyInit | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  return new Request(BASE + path, { method, headers, ...(body === undefined ? {} : { body }) });
}

async function setup(options: Parameters<typeof testDeps>[0] = {}, app: AdminAppOptions = {}) {
  const deps = await testDeps(options);
  return { deps, app: new AdminApp(deps, app) };
}

async function call(app: AdminApp, method: string, path: string, options: CallOptions = {}) {
  const res = await app.handle(request(method, path, options), "127.0.0.1:40000");
  // An event stream answered where a refusal was expected never ends: read it for 5 s at most.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const text = await Promise.race([
    res.text(),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => {
        res.body?.cancel().catch(() => {});
        resolve("(body still streaming after 5 s)");
      }, 5_000);
    }),
  ]).finally(() => clearTimeout(timer));
  return { res, text, json: (): unknown => JSON.parse(text) };
}

async function problem(app: AdminApp, method: string, path: string, options: CallOptions = {}) {
  const { res, json } = await call(app, method, path, options);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  return { status: res.status, problem: Problem.parse(json()), res };
}

const API_ROUTES: [string, string][] = [
  ["GET", "/api/v1/connections"],
  ["GET", "/api/v1/services"],
  ["GET", "/api/v1/refusals"],
  ["GET", "/api/v1/snapshot"],
  ["GET", "/api/v1/fleet"],
  ["GET", "/api/v1/events"],
  ["GET", "/api/v1/tokens"],
  ["POST", "/api/v1/tokens"],
  ["POST", "/api/v1/tokens/revoke"],
  ["POST", "/api/v1/connections/0a1b2c3d/kick"],
  ["GET", "/api/v1/audit"],
  ["GET", "/api/v1/admin-tokens"],
  ["POST", "/api/v1/admin-tokens"],
  ["DELETE", "/api/v1/admin-tokens/0123456789ab"],
  ["GET", "/metrics"],
];

Deno.test("AdminApp answers /healthz and /readyz without a token", async () => {
  const { app, deps } = await setup();
  const health = await call(app, "GET", "/healthz", { token: null });
  assert.equal(health.res.status, 200);
  assert.deepEqual(health.json(), { status: "ok" });
  const ready = await call(app, "GET", "/readyz", { token: null });
  assert.equal(ready.res.status, 200);
  assert.deepEqual(ready.json(), {
    ready: true,
    checks: { listening: true, store: true, certificate: true, draining: false },
    certificateNotAfter: T0 + 86_400_000,
  });
  deps.relay.isDraining = true;
  assert.equal((await call(app, "GET", "/readyz", { token: null })).res.status, 503);
  deps.relay.isDraining = false;
  deps.clock.now = T0 + 2 * 86_400_000;
  const expired = await call(app, "GET", "/readyz", { token: null });
  assert.equal(expired.res.status, 503);
  deps.clock.now = T0;
  deps.store.close();
  const closed = await call(app, "GET", "/readyz", { token: null });
  assert.equal(closed.res.status, 503);
  assert.match(closed.text, /"store":false/);
});

Deno.test("AdminApp refuses every API route without or with a wrong token: 401 problem+json", async (t) => {
  const { app, deps } = await setup();
  for (const [method, path] of API_ROUTES) {
    for (const token of [null, "wrong-token", ""]) {
      await t.step(
        `${method} ${path} with ${token === null ? "no" : `"${token}"`} token`,
        async () => {
          const { status, problem: p, res } = await problem(app, method, path, {
            token,
            ...(method === "POST" ? { body: { tokenId: "x" } } : {}),
          });
          assert.equal(status, 401);
          assert.equal(p.code, "unauthenticated");
          assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer /);
        },
      );
    }
  }
  await t.step("a malformed header is refused the same way", async () => {
    const { status } = await problem(app, "GET", "/api/v1/connections", {
      token: null,
      headers: { authorization: "Basic YWRtaW46YWRtaW4=" },
    });
    assert.equal(status, 401);
  });
  const audit = await deps.store.listAudit({ limit: 500 });
  assert.equal(audit.items.length, API_ROUTES.length * 3 + 1, "each refusal audited");
  assert.ok(audit.items.every((e) => e.action === "auth.failed" && e.remote === "127.0.0.1:40000"));
  assert.equal(app.metrics.authFailures, API_ROUTES.length * 3 + 1);
});

Deno.test("AdminApp audits refused sign-ins up to its budget, then notes how many it skipped", async () => {
  const { app, deps } = await setup({}, { auditedAuthFailuresPerMinute: 2 });
  for (let i = 0; i < 5; i++) await call(app, "GET", "/api/v1/connections", { token: "bad" });
  assert.equal((await deps.store.listAudit({ limit: 10 })).items.length, 2);
  deps.clock.now = T0 + 61_000;
  await call(app, "GET", "/api/v1/connections", { token: "bad" });
  const latest = (await deps.store.listAudit({ limit: 10 })).items[0];
  assert.equal(latest.detail, "unknown; 3 more not audited in the last minute");
});

Deno.test("AdminApp lists connections, services, refusals and a snapshot", async () => {
  const { app, deps } = await setup();
  deps.relay.conns = [
    connection(),
    connection({ connId: "ffff0000", role: "connector", services: ["web"] }),
  ];
  deps.relay.pools = [{
    service: "web",
    health: "up",
    members: [{ connId: "ffff0000", identity: "dc", activeFlows: 2 }],
  }];
  deps.relay.refused = [{ at: T0, code: "unauthorized", identity: "bob", service: "db" }];
  deps.relay.flows = 2;
  assert.deepEqual((await call(app, "GET", "/api/v1/connections")).json(), {
    items: deps.relay.conns,
  });
  assert.deepEqual((await call(app, "GET", "/api/v1/services")).json(), {
    items: deps.relay.pools,
  });
  assert.deepEqual((await call(app, "GET", "/api/v1/refusals")).json(), {
    items: deps.relay.refused,
  });
  deps.relay.relays = [{
    relayId: "r1",
    addresses: [{ address: "relay1.example.com:443" }],
    state: "up",
    health: "up",
    heartbeatAgeMs: 120,
    startedAt: T0,
    peers: 2,
    flows: 1,
    self: true,
  }];
  assert.deepEqual((await call(app, "GET", "/api/v1/fleet")).json(), { items: deps.relay.relays });
  const snap = Snapshot.parse((await call(app, "GET", "/api/v1/snapshot")).json());
  assert.deepEqual(snap.totals, { clients: 1, connectors: 1, activeFlows: 2, refusals: 1 });
  assert.deepEqual(snap.fleet, deps.relay.relays);
});

Deno.test("AdminApp issues a token the relay's key verifies, stores its metadata and audits it", async () => {
  const { app, deps } = await setup();
  const { res, json } = await call(app, "POST", "/api/v1/tokens", {
    body: { subject: "alice", role: "client", services: ["web", "web", "db"], ttlSeconds: 3_600 },
  });
  assert.equal(res.status, 201);
  const issued = json() as { token: string; credential: { tokenId: string; services: string[] } };
  assert.deepEqual(issued.credential.services, ["web", "db"]);
  const verifier = new TokenVerifier(
    await importPublicKeys([{ path: "k.pub", pem: (await testSigningKey()).publicPem }]),
  );
  const verified = await verifier.verify(issued.token, T0);
  assert.ok(verified.ok);
  assert.equal(verified.identity.tokenId, issued.credential.tokenId);
  const stored = await deps.store.getCredential(issued.credential.tokenId);
  assert.equal(stored?.subject, "alice");
  assert.equal(stored?.issuedBy, "admin:config-" + stored?.issuedBy.slice(13));
  assert.ok(!JSON.stringify(stored).includes(issued.token), "the store never holds the token");
  const list = TokenPage.parse((await call(app, "GET", "/api/v1/tokens")).json());
  assert.equal(list.items[0].status, "active");
  assert.ok(!JSON.stringify(list).includes(issued.token), "listing never shows the token");
  const audit = (await deps.store.listAudit({ limit: 5 })).items;
  assert.equal(audit[0].action, "token.issue");
  assert.equal(audit[0].target, issued.credential.tokenId);
});

Deno.test("AdminApp answers 501 token_issuing_disabled without a signing key, and audits it", async () => {
  const { app, deps } = await setup({ signingKey: false });
  const { status, problem: p } = await problem(app, "POST", "/api/v1/tokens", {
    body: { subject: "alice", role: "client", services: ["web"], ttlSeconds: 60 },
  });
  assert.equal(status, 501);
  assert.equal(p.code, "token_issuing_disabled");
  const [entry] = (await deps.store.listAudit({ limit: 1 })).items;
  assert.deepEqual([entry.action, entry.outcome, entry.code], [
    "token.issue",
    "refused",
    "token_issuing_disabled",
  ]);
});

Deno.test("AdminApp rejects invalid bodies with 400 invalid_request and JSON pointers", async (t) => {
  const { app } = await setup();
  const valid = { subject: "alice", role: "client", services: ["web"], ttlSeconds: 60 };
  const cases: [string, unknown, string][] = [
    ["a missing field", { subject: "alice", role: "client", services: ["web"] }, "/ttlSeconds"],
    ["an unknown field", { ...valid, admin: true }, "/"],
    ["a wrong type", { ...valid, ttlSeconds: "60" }, "/ttlSeconds"],
    ["a bad service id", { ...valid, services: ["Web Server"] }, "/services/0"],
    ["a role that does not exist", { ...valid, role: "admin" }, "/role"],
    ["a lifetime of zero", { ...valid, ttlSeconds: 0 }, "/ttlSeconds"],
    ["a subject with a control character", { ...valid, subject: "a\u0007b" }, "/subject"],
    ["an array instead of an object", [valid], "/"],
  ];
  for (const [what, body, pointer] of cases) {
    await t.step(what, async () => {
      const { status, problem: p } = await problem(app, "POST", "/api/v1/tokens", { body });
      assert.equal(status, 400);
      assert.equal(p.code, "invalid_request");
      assert.equal(p.errors?.[0].pointer, pointer);
    });
  }
  await t.step("text that is not JSON", async () => {
    const { status, problem: p } = await problem(app, "POST", "/api/v1/tokens/revoke", {
      raw: "{tokenId:",
      headers: { "content-type": "application/json" },
    });
    assert.equal(status, 400);
    assert.equal(p.code, "invalid_request");
  });
  await t.step("bytes that are not UTF-8", async () => {
    const { status } = await problem(app, "POST", "/api/v1/tokens/revoke", {
      raw: new Uint8Array([0x7b, 0xff, 0x7d]),
      headers: { "content-type": "application/json" },
    });
    assert.equal(status, 400);
  });
  await t.step("a revocation with a malformed token id", async () => {
    const { status, problem: p } = await problem(app, "POST", "/api/v1/tokens/revoke", {
      body: { tokenId: "../../etc" },
    });
    assert.equal(status, 400);
    assert.equal(p.errors?.[0].pointer, "/tokenId");
  });
});

Deno.test("AdminApp refuses a body that is not JSON-typed (415) or over 64 KiB (413)", async (t) => {
  const { app } = await setup();
  await t.step("text/plain", async () => {
    const { status, problem: p } = await problem(app, "POST", "/api/v1/tokens/revoke", {
      raw: "{}",
      headers: { "content-type": "text/plain" },
    });
    assert.equal(status, 415);
    assert.equal(p.code, "unsupported_media_type");
  });
  await t.step("declared too large", async () => {
    const { status, problem: p } = await problem(app, "POST", "/api/v1/tokens/revoke", {
      body: { tokenId: "a".repeat(70_000) },
    });
    assert.equal(status, 413);
    assert.equal(p.code, "payload_too_large");
  });
  await t.step("streamed too large without a length", async () => {
    const chunk = new TextEncoder().encode("[" + "1,".repeat(8_000));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 10) c.enqueue(chunk);
        else c.close();
      },
    });
    const { status } = await problem(app, "POST", "/api/v1/tokens/revoke", {
      raw: stream,
      headers: { "content-type": "application/json" },
    });
    assert.equal(status, 413);
  });
});

Deno.test("AdminApp revokes: stored first, live connections closed, audited; twice is harmless", async () => {
  const { app, deps } = await setup();
  deps.relay.conns = [connection()];
  const first = await call(app, "POST", "/api/v1/tokens/revoke", {
    body: { tokenId: "aliceTokenId0000000000", reason: "laptop lost" },
  });
  assert.equal(first.res.status, 200);
  assert.deepEqual(first.json(), {
    tokenId: "aliceTokenId0000000000",
    alreadyRevoked: false,
    revokedAt: T0,
    closedConnections: 1,
  });
  assert.deepEqual(deps.relay.revoked, ["aliceTokenId0000000000"]);
  assert.deepEqual((await deps.store.listRevocations()).map((r) => r.reason), ["laptop lost"]);
  deps.clock.now = T0 + 5_000;
  const second = await call(app, "POST", "/api/v1/tokens/revoke", {
    body: { tokenId: "aliceTokenId0000000000" },
  });
  assert.equal((second.json() as { alreadyRevoked: boolean }).alreadyRevoked, true);
  assert.equal((second.json() as { revokedAt: number }).revokedAt, T0);
  const audit = AuditPage.parse({ items: (await deps.store.listAudit({ limit: 5 })).items });
  assert.deepEqual(audit.items.map((e) => e.action), ["token.revoke", "token.revoke"]);
  assert.match(audit.items[1].detail ?? "", /not issued here; 1 connections closed; laptop lost/);
});

Deno.test("AdminApp kicks a connection and answers 404 not_found for an unknown one", async () => {
  const { app, deps } = await setup();
  deps.relay.conns = [connection()];
  const ok = await call(app, "POST", "/api/v1/connections/0a1b2c3d/kick");
  deps.clock.now = T0 + 1;
  assert.equal(ok.res.status, 200);
  assert.deepEqual(ok.json(), { connId: "0a1b2c3d", identity: "alice" });
  const again = await problem(app, "POST", "/api/v1/connections/0a1b2c3d/kick");
  assert.equal(again.status, 404);
  assert.equal(again.problem.code, "not_found");
  const audit = (await deps.store.listAudit({ limit: 5 })).items;
  assert.deepEqual(audit.map((e) => [e.action, e.outcome]), [
    ["connection.kick", "refused"],
    ["connection.kick", "ok"],
  ]);
});

Deno.test("AdminApp pages the audit log and refuses bad page queries", async (t) => {
  const { app, deps } = await setup();
  for (let i = 0; i < 5; i++) {
    deps.clock.now = T0 + i;
    await call(app, "POST", "/api/v1/connections/0a1b2c3d/kick");
  }
  const first = AuditPage.parse((await call(app, "GET", "/api/v1/audit?limit=3")).json());
  assert.equal(first.items.length, 3);
  assert.ok(first.next);
  const rest = AuditPage.parse(
    (await call(app, "GET", `/api/v1/audit?limit=3&cursor=${encodeURIComponent(first.next)}`))
      .json(),
  );
  assert.equal(rest.items.length, 2);
  assert.equal(rest.next, undefined);
  for (
    const query of ["limit=0", "limit=501", "limit=abc", "page=2", "limit=1&limit=2", "cursor=nope"]
  ) {
    await t.step(query, async () => {
      const { status, problem: p } = await problem(app, "GET", `/api/v1/audit?${query}`);
      assert.equal(status, 400);
      assert.equal(p.code, "invalid_request");
    });
  }
});

Deno.test("AdminApp answers 404 for unknown paths and 405 with Allow for a wrong method", async () => {
  const { app } = await setup();
  const missing = await problem(app, "GET", "/api/v1/nothing");
  assert.equal(missing.status, 404);
  const wrong = await problem(app, "DELETE", "/api/v1/tokens");
  assert.equal(wrong.status, 405);
  assert.equal(wrong.problem.code, "method_not_allowed");
  assert.equal(wrong.res.headers.get("allow"), "GET, POST");
});

Deno.test("AdminApp creates, lists and deletes admin tokens; config tokens stay", async () => {
  const { app, deps } = await setup();
  const created = await call(app, "POST", "/api/v1/admin-tokens", {
    body: { label: "ops-laptop" },
  });
  assert.equal(created.res.status, 201);
  const { token, id } = created.json() as { token: string; id: string };
  assert.equal((await call(app, "GET", "/api/v1/connections", { token })).res.status, 200);
  const list = (await call(app, "GET", "/api/v1/admin-tokens")).json() as {
    items: { id: string; source: string; label: string }[];
  };
  assert.deepEqual(list.items.map((i) => i.source).sort(), ["config", "store"]);
  assert.ok(!JSON.stringify(list).includes(token));
  const configId = list.items.find((i) => i.source === "config")?.id ?? "";
  const conflict = await problem(app, "DELETE", `/api/v1/admin-tokens/${configId}`);
  assert.equal(conflict.status, 409);
  assert.equal((await call(app, "DELETE", `/api/v1/admin-tokens/${id}`)).res.status, 200);
  assert.equal((await call(app, "GET", "/api/v1/connections", { token })).res.status, 401);
  assert.equal((await problem(app, "DELETE", `/api/v1/admin-tokens/${id}`)).status, 404);
  const bad = await problem(app, "POST", "/api/v1/admin-tokens", { body: { label: "a b" } });
  assert.equal(bad.status, 400);
  const actions = (await deps.store.listAudit({ limit: 10 })).items.map((e) => e.action);
  assert.ok(actions.includes("admin_token.create") && actions.includes("admin_token.delete"));
});

Deno.test("AdminApp answers 503 timeout when a request takes too long", async () => {
  const { app, deps } = await setup({}, { requestTimeoutMs: 50 });
  deps.store.listAudit = () => new Promise(() => {});
  const { status, problem: p } = await problem(app, "GET", "/api/v1/audit");
  assert.equal(status, 503);
  assert.equal(p.code, "timeout");
});

Deno.test("AdminApp answers 500 internal without the error's details", async () => {
  const { app, deps } = await setup();
  deps.store.listCredentials = () => Promise.reject(new Error("disk /secret/path exploded"));
  const { status, problem: p, res } = await problem(app, "GET", "/api/v1/tokens");
  assert.equal(status, 500);
  assert.equal(p.code, "internal");
  assert.doesNotMatch(JSON.stringify(p) + res.headers.get("content-type"), /secret/);
});

Deno.test("AdminApp streams snapshots on /api/v1/events and ends them on closeStreams", async () => {
  const { app, deps } = await setup({}, { eventIntervalMs: 20, maxEventStreams: 1 });
  deps.relay.conns = [connection()];
  const { res } = { res: await app.handle(request("GET", "/api/v1/events"), "127.0.0.1:1") };
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const crowded = await problem(app, "GET", "/api/v1/events");
  assert.equal(crowded.status, 429);
  assert.equal(crowded.problem.code, "too_many_streams");
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while ((text.match(/event: snapshot/g) ?? []).length < 2) text += (await reader.read()).value;
  const data = text.match(/event: snapshot\ndata: (.*)\n\n/)?.[1] ?? "";
  assert.equal(Snapshot.parse(JSON.parse(data)).connections[0].connId, "0a1b2c3d");
  assert.equal(app.openStreams, 1);
  app.closeStreams();
  while (!(await reader.read()).done) { /* drain to the end */ }
  assert.equal(app.openStreams, 0);
  assert.equal((await problem(app, "GET", "/api/v1/events")).status, 429);
});

Deno.test("AdminApp ends an event stream when the client goes away", async () => {
  const { app } = await setup({}, { eventIntervalMs: 20 });
  const controller = new AbortController();
  const req = new Request(BASE + "/api/v1/events", {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    signal: controller.signal,
  });
  const res = await app.handle(req, "127.0.0.1:1");
  await res.body!.getReader().read();
  assert.equal(app.openStreams, 1);
  controller.abort();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(app.openStreams, 0);
});

Deno.test("AdminApp serves /metrics only with a token unless metrics_public", async () => {
  const closed = await setup();
  assert.equal((await call(closed.app, "GET", "/metrics", { token: null })).res.status, 401);
  const ok = await call(closed.app, "GET", "/metrics");
  assert.equal(ok.res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  assert.match(ok.text, /^ztna_admin_auth_failures_total 1$/m);
  const open = await setup({ metricsPublic: true });
  assert.equal((await call(open.app, "GET", "/metrics", { token: null })).res.status, 200);
});

Deno.test("AdminApp serves the dashboard without a token and with a strict CSP", async () => {
  const { app } = await setup();
  const root = await call(app, "GET", "/", { token: null });
  assert.equal(root.res.status, 302);
  assert.equal(root.res.headers.get("location"), "/dashboard");
  for (
    const [path, type] of [
      ["/dashboard", "text/html"],
      ["/dashboard/app.js", "text/javascript"],
      ["/dashboard/format.js", "text/javascript"],
      ["/dashboard/app.css", "text/css"],
    ]
  ) {
    const { res } = await call(app, "GET", path, { token: null });
    assert.equal(res.status, 200, path);
    assert.ok(res.headers.get("content-type")?.startsWith(type), path);
    assert.match(
      res.headers.get("content-security-policy") ?? "",
      /default-src 'none'; script-src 'self'/,
    );
    assert.equal(res.headers.get("x-frame-options"), "DENY");
  }
  const missing = await problem(app, "GET", "/dashboard/missing.js", { token: null });
  assert.equal(missing.status, 404);
  assert.equal(missing.problem.code, "not_found");
});

Deno.test("AdminApp ends event streams on a certificate reload but accepts new ones", async () => {
  const { app } = await setup({}, { eventIntervalMs: 20 });
  const first = await app.handle(request("GET", "/api/v1/events"), "127.0.0.1:1");
  const reader = first.body!.getReader();
  await reader.read();
  app.endStreams();
  while (!(await reader.read()).done) { /* until the end */ }
  assert.equal(app.openStreams, 0);
  const second = await app.handle(request("GET", "/api/v1/events"), "127.0.0.1:1");
  assert.equal(second.status, 200);
  const again = second.body!.getReader();
  assert.equal((await again.read()).done, false);
  app.closeStreams();
  while (!(await again.read()).done) { /* until the end */ }
});
