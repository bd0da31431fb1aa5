/**
 * The admin endpoint of a real relay process: every endpoint with valid and invalid input, with no
 * and with a wrong admin token; a token issued through the API used by a real client; revocation
 * through the API closing that live client at once and refusing it after; kick; HTTPS off
 * loopback and its config error; graceful shutdown with an open event stream.
 * @module
 */
import assert from "node:assert/strict";
import { generateDevPki } from "../../src/pki/dev_pki.ts";
import { adminCall, eventually } from "../_helpers/admin_http.ts";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { closedWith, rawSession } from "../_helpers/raw_peer.ts";
import { runZtna } from "../_helpers/ztna_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const ROUTES: [string, string][] = [
  ["GET", "/api/v1/connections"],
  ["GET", "/api/v1/services"],
  ["GET", "/api/v1/refusals"],
  ["GET", "/api/v1/snapshot"],
  ["GET", "/api/v1/events"],
  ["GET", "/api/v1/tokens"],
  ["POST", "/api/v1/tokens"],
  ["POST", "/api/v1/tokens/revoke"],
  ["POST", "/api/v1/connections/0123abcd/kick"],
  ["GET", "/api/v1/audit"],
  ["GET", "/api/v1/admin-tokens"],
  ["POST", "/api/v1/admin-tokens"],
  ["DELETE", "/api/v1/admin-tokens/0123456789ab"],
  ["GET", "/metrics"],
];

Deno.test(
  "admin endpoint: health, every route refused without or with a wrong token, input checked",
  opts,
  async (t) => {
    await using fx = await Fixture.create("admin-api");
    const { url, adminToken } = await fx.adminRelay(freeUdpPort());

    await t.step("/healthz and /readyz need no token", async () => {
      const health = await adminCall(url, "/healthz");
      assert.equal(health.status, 200);
      const ready = await adminCall(url, "/readyz");
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.json().checks, {
        listening: true,
        store: true,
        certificate: true,
        draining: false,
      });
    });

    await t.step(
      "every protected route answers 401 problem+json without or with a wrong token",
      async () => {
        for (const [method, path] of ROUTES) {
          for (const token of [null, "ztna_admin_wrong"]) {
            const body = method === "POST" ? {} : undefined;
            const answer = await adminCall(url, path, { method, token, body });
            assert.equal(answer.status, 401, `${method} ${path} ${token}`);
            assert.equal(answer.type, "application/problem+json");
            assert.equal(answer.json().code, "unauthenticated");
          }
        }
      },
    );

    await t.step("the lists answer with a valid token", async () => {
      for (const path of ["connections", "services", "refusals", "tokens", "admin-tokens"]) {
        const answer = await adminCall(url, `/api/v1/${path}`, { token: adminToken });
        assert.equal(answer.status, 200, path);
        assert.ok(Array.isArray(answer.json().items), path);
      }
      const snapshot = await adminCall(url, "/api/v1/snapshot", { token: adminToken });
      assert.equal(snapshot.status, 200);
    });

    await t.step("issuing without a signing key answers 501 token_issuing_disabled", async () => {
      const answer = await adminCall(url, "/api/v1/tokens", {
        token: adminToken,
        body: { subject: "alice", role: "client", services: ["web"], ttlSeconds: 60 },
      });
      assert.equal(answer.status, 501);
      assert.equal(answer.json().code, "token_issuing_disabled");
    });

    await t.step("invalid input answers 400 invalid_request with the field", async () => {
      const cases: [string, unknown, string][] = [
        [
          "/api/v1/tokens",
          { subject: "a", role: "root", services: ["web"], ttlSeconds: 1 },
          "/role",
        ],
        ["/api/v1/tokens/revoke", { tokenId: "short" }, "/tokenId"],
        ["/api/v1/tokens/revoke", { tokenId: "aaaaaaaaaaaaaaaaaaaaaa", extra: 1 }, "/"],
        ["/api/v1/admin-tokens", { label: "" }, "/label"],
      ];
      for (const [path, body, pointer] of cases) {
        const answer = await adminCall(url, path, { token: adminToken, body });
        assert.equal(answer.status, 400, path);
        assert.equal(answer.type, "application/problem+json");
        const problem = answer.json();
        assert.equal(problem.code, "invalid_request");
        assert.equal((problem.errors as { pointer: string }[])[0].pointer, pointer);
      }
      const query = await adminCall(url, "/api/v1/audit?limit=9999", { token: adminToken });
      assert.equal(query.status, 400);
      const kick = await adminCall(url, "/api/v1/connections/0123abcd/kick", {
        token: adminToken,
        method: "POST",
      });
      assert.equal(kick.status, 404);
      assert.equal(kick.json().code, "not_found");
      const method = await adminCall(url, "/api/v1/connections", {
        token: adminToken,
        method: "PUT",
      });
      assert.equal(method.status, 405);
    });

    await t.step("the audit log has the refused sign-ins and the refused actions", async () => {
      const audit = await adminCall(url, "/api/v1/audit?limit=500", { token: adminToken });
      const items = audit.json().items as { action: string; outcome: string }[];
      assert.equal(items.filter((e) => e.action === "auth.failed").length, ROUTES.length * 2);
      assert.ok(items.some((e) => e.action === "token.issue" && e.outcome === "refused"));
      assert.ok(items.some((e) => e.action === "connection.kick" && e.outcome === "refused"));
    });
  },
);

Deno.test(
  "a token issued through the admin API serves a real client; revoking it disconnects the client at once and keeps it out",
  opts,
  async () => {
    await using fx = await Fixture.create("admin-issue");
    const backend = httpBackend("backend");
    try {
      const relayPort = freeUdpPort();
      const key = await fx.signingKeyFile();
      const { url, adminToken } = await fx.adminRelay(relayPort, {
        admin: `token_signing_key = "${key}"`,
      });
      await fx.connector(
        [relayPort],
        { web: `127.0.0.1:${backend.port}` },
        (await fx.token("connector", { services: ["web"] })).path,
      );
      const issued = await adminCall(url, "/api/v1/tokens", {
        token: adminToken,
        body: { subject: "alice", role: "client", services: ["web"], ttlSeconds: 600 },
      });
      assert.equal(issued.status, 201);
      const { token, credential } = issued.json() as {
        token: string;
        credential: { tokenId: string; status: string };
      };
      assert.equal(credential.status, "active");
      const tokenPath = `${fx.dir}/alice.token`;
      await Deno.writeTextFile(tokenPath, token, { mode: 0o600 });
      const local = freeTcpPort();
      // One connection: the revocation below counts the connections it closes (a lane is one more).
      const client = await fx.client([relayPort], { [`127.0.0.1:${local}`]: "web" }, tokenPath, {
        extra: "tcp_lane = false",
      });
      assert.match(await (await fetch(`http://127.0.0.1:${local}/`)).text(), /^backend GET/);

      const live = await eventually("the client in /api/v1/connections", async () => {
        const list = await adminCall(url, "/api/v1/connections", { token: adminToken });
        const items = list.json().items as { identity: string; role: string; tokenId?: string }[];
        return items.find((c) => c.identity === "alice");
      });
      assert.equal(live.role, "client");
      assert.equal(live.tokenId, credential.tokenId);
      const services = await adminCall(url, "/api/v1/services", { token: adminToken });
      assert.equal(
        (services.json().items as { service: string; health: string }[])[0].health,
        "up",
      );

      const before = Date.now();
      const revoked = await adminCall(url, "/api/v1/tokens/revoke", {
        token: adminToken,
        body: { tokenId: credential.tokenId, reason: "test" },
      });
      assert.equal(revoked.status, 200);
      assert.equal(revoked.json().closedConnections, 1);
      await client.waitFor(/Lost relay .*token_revoked/, 5_000);
      assert.ok(Date.now() - before < 5_000);
      await client.waitFor(/refused this client: "?token_revoked/, 10_000);

      const tokens = await adminCall(url, "/api/v1/tokens", { token: adminToken });
      assert.equal((tokens.json().items as { status: string }[])[0].status, "revoked");
      const refusals = await adminCall(url, "/api/v1/refusals", { token: adminToken });
      assert.ok(
        (refusals.json().items as { code: string; identity?: string }[]).some((r) =>
          r.code === "token_revoked" && r.identity === "alice"
        ),
      );
      assert.doesNotMatch(
        (await adminCall(url, "/api/v1/audit", { token: adminToken })).text,
        new RegExp(token.slice(-20)),
        "the audit log never holds a token",
      );
    } finally {
      await backend.shutdown();
    }
  },
);

Deno.test("kick closes one connection with kicked; others stay", opts, async () => {
  await using fx = await Fixture.create("admin-kick");
  const relayPort = freeUdpPort();
  const { url, adminToken } = await fx.adminRelay(relayPort);
  const ca = await Deno.readTextFile(fx.pki.caCertPath);
  const a = await rawSession(relayPort, ca, (await fx.token("client", { subject: "a" })).token);
  const b = await rawSession(relayPort, ca, (await fx.token("client", { subject: "b" })).token);
  const kick = await adminCall(url, `/api/v1/connections/${a.welcome.connId}/kick`, {
    token: adminToken,
    method: "POST",
  });
  assert.equal(kick.status, 200);
  assert.deepEqual(kick.json(), { connId: a.welcome.connId, identity: "a" });
  assert.equal(await closedWith(a.conn, 5_000), "kicked");
  assert.equal(await closedWith(b.conn, 300), "open");
  b.conn.close({ closeCode: 0, reason: "" });
  const audit = await adminCall(url, "/api/v1/audit", { token: adminToken });
  const [entry] = audit.json().items as { action: string; target: string; actor: string }[];
  assert.equal(entry.action, "connection.kick");
  assert.equal(entry.target, a.welcome.connId);
});

/** A relay config with `[intermediate.admin]` holding `admin`. */
function relayConfig(fx: Fixture, admin: string): Promise<string> {
  return fx.config(`
[intermediate]
listen = "127.0.0.1:${freeUdpPort()}"
cert = "${fx.pki.certPath}"
key = "${fx.pki.keyPath}"
token_public_keys = ["${fx.signing.publicPath}"]
[intermediate.admin]
${admin}
`);
}

Deno.test("relay refuses to start with an unsafe or unusable admin config, naming the key (exit 2)", async () => {
  await using fx = await Fixture.create("admin-config");
  const foreignKey = `${fx.dir}/foreign.key`;
  await Deno.writeTextFile(foreignKey, fx.foreignPrivatePem, { mode: 0o600 });
  const hashes = `${fx.dir}/hashes.txt`;
  await Deno.writeTextFile(hashes, "# admins\nztna_admin_pasted-by-mistake\n");
  const cases: [string, RegExp][] = [
    [
      `listen = "0.0.0.0:${freeTcpPort()}"`,
      /intermediate\.admin\.tls: expected true because listen .* is not a loopback address/,
    ],
    [
      `listen = "127.0.0.1:0"\ntoken_signing_key = "${foreignKey}"`,
      /foreign\.key: its public key .* is not in intermediate\.token_public_keys/,
    ],
    [
      `listen = "127.0.0.1:0"\ntoken_hashes_file = "${hashes}"`,
      /hashes\.txt: line 2: expected "sha256:"/,
    ],
    [`token_hashes = ["sha256:abc"]`, /intermediate\.admin\.token_hashes\[0\]: expected "sha256:"/],
  ];
  for (const [admin, message] of cases) {
    const result = await runZtna(["--role=intermediate", "--config", await relayConfig(fx, admin)]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, message);
    assert.doesNotMatch(result.stderr, /pasted-by-mistake/, "a bad line is never echoed");
  }
});

Deno.test(
  "admin endpoint off loopback is served over HTTPS with the relay certificate, reloaded on SIGHUP",
  opts,
  async () => {
    await using fx = await Fixture.create("admin-tls");
    const port = freeTcpPort();
    const { relay, adminToken } = await fx.adminRelay(freeUdpPort(), {
      listen: `0.0.0.0:${port}`,
      admin: "tls = true",
    });
    using client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(fx.pki.caCertPath)] });
    const https = `https://localhost:${port}`;
    assert.equal((await adminCall(https, "/healthz", { client })).status, 200);
    assert.equal(
      (await adminCall(https, "/api/v1/connections", { client, token: adminToken })).status,
      200,
    );
    await assert.rejects(adminCall(`http://localhost:${port}`, "/healthz"), "no plain HTTP");

    // An open event stream must not hold the reload up: it ends, and the dashboard reconnects.
    const events = await fetch(`${https}/api/v1/events`, {
      headers: { authorization: `Bearer ${adminToken}` },
      client,
    });
    const stream = events.body!.getReader();
    await stream.read();
    await generateDevPki({ outDir: `${fx.dir}/pki` });
    relay.kill("SIGHUP");
    await relay.waitFor(/Reloaded the admin endpoint certificate/, 5_000);
    while (!(await stream.read().catch(() => ({ done: true }))).done) { /* until the end */ }
    assert.doesNotMatch(relay.output, /restarted with requests still open/);
    using fresh = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(fx.pki.caCertPath)] });
    assert.equal((await adminCall(https, "/healthz", { client: fresh })).status, 200);
  },
);

Deno.test(
  "relay stops its admin endpoint cleanly on SIGTERM, ending open event streams",
  opts,
  async () => {
    await using fx = await Fixture.create("admin-stop");
    const { relay, url, adminToken } = await fx.adminRelay(freeUdpPort());
    const res = await fetch(`${url}/api/v1/events`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    assert.equal(res.status, 200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    assert.match((await reader.read()).value ?? "", /retry|event: snapshot/);
    const status = await relay.stop(10_000);
    assert.equal(status.code, 0);
    assert.match(relay.output, /Admin endpoint stopped/);
    while (!(await reader.read().catch(() => ({ done: true }))).done) { /* until the end */ }
  },
);
