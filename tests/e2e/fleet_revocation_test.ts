/**
 * Two relays (two processes) on one real PostgreSQL store: a token revoked through relay A's admin
 * API closes its connection on relay B with token_revoked within 5 s (NOTIFY), and B refuses a new
 * HELLO with it; with the listening database connections killed, and for a revocation row written
 * without NOTIFY at all, it still arrives within revocation_poll_ms (200 ms here) plus a margin;
 * `ztna admin token revoke --config` with a relay config on PostgreSQL reaches relay B as well, and
 * a revocation on A closes a direct path brokered by B (B tells its connector), and an id written
 * to relay C's own revocation file reaches B through the store.
 * @module
 */
import assert from "node:assert/strict";
import { adminCall } from "../_helpers/admin_http.ts";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";
import { startPostgres } from "../_helpers/postgres.ts";
import { closedWith, rawHello, rawSession } from "../_helpers/raw_peer.ts";
import { openPostgresStore } from "../../src/store/mod.ts";
import { runZtna } from "../_helpers/ztna_process.ts";
import { tcpServer } from "../_helpers/tcp.ts";
import { brokerDirectPath, directForward, HeldFlow } from "../_helpers/direct_attacker.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "a token revoked on relay A closes its connection on relay B (push, then poll with LISTEN broken)",
  opts,
  async () => {
    const db = await startPostgres();
    try {
      await db.createDatabase("fleet");
      await using fx = await Fixture.create("pg-fleet");
      const passwordFile = `${fx.dir}/db-password`;
      await Deno.writeTextFile(passwordFile, db.password, { mode: 0o600 });
      const caFile = `${fx.dir}/db-ca.pem`;
      await Deno.writeTextFile(caFile, db.caPem);
      const store = `store = { kind = "postgres", url = "${db.url("fleet")}", ` +
        `password_file = "${passwordFile}", ca = "${caFile}" }`;
      const admin = `token_signing_key = "${await fx.signingKeyFile()}"`;
      // Each relay claims its own state_dir (ACME and the claim stay per relay).
      const relayA = await fx.adminRelay(freeUdpPort(), {
        admin,
        extra: `state_dir = "${fx.dir}/state-a"\n${store}`,
      });
      const portB = freeUdpPort();
      const relayB = await fx.adminRelay(portB, {
        admin,
        extra: `state_dir = "${fx.dir}/state-b"\n${store}`,
      });
      const caPem = await Deno.readTextFile(fx.pki.caCertPath);
      const issue = async (subject: string) => {
        const answer = await adminCall(relayA.url, "/api/v1/tokens", {
          token: relayA.adminToken,
          body: { subject, role: "client", services: ["web"], ttlSeconds: 3_600 },
        });
        assert.equal(answer.status, 201);
        return answer.json() as { token: string; credential: { tokenId: string } };
      };
      const revokeOnA = async (tokenId: string) => {
        const answer = await adminCall(relayA.url, "/api/v1/tokens/revoke", {
          token: relayA.adminToken,
          body: { tokenId },
        });
        assert.equal(answer.status, 200);
      };

      // Push: NOTIFY from A's revoking transaction reaches B's LISTEN.
      const pushed = await issue("pushed");
      const sessionB = await rawSession(portB, caPem, pushed.token);
      const sent = Date.now();
      await revokeOnA(pushed.credential.tokenId);
      assert.equal(await closedWith(sessionB.conn, 5_000), "token_revoked");
      const pushMs = Date.now() - sent;
      assert.equal(
        await rawHello(portB, fx.pki.caCertPath, "client", pushed.token),
        "token_revoked",
      );

      // Fallback: kill every listening backend, then revoke at once. B's poll (or the poll it runs
      // when it listens again) must still deliver within revocation_poll_ms plus a margin.
      const polled = await issue("polled");
      const sessionB2 = await rawSession(portB, caPem, polled.token);
      const direct = await openPostgresStore({
        url: db.url("fleet"),
        password: db.password,
        caCerts: [db.caPem],
      });
      let healMs: number;
      let pollMs: number;
      try {
        const killed = await direct.sql`SELECT pg_terminate_backend(pid) AS ok
          FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen%'`;
        assert.equal(killed.length, 2, "expected one listening connection per relay");
        const start = Date.now();
        await revokeOnA(polled.credential.tokenId);
        assert.equal(await closedWith(sessionB2.conn, 200 + 1_500), "token_revoked");
        healMs = Date.now() - start;
        // Poll alone: a revocation row written without NOTIFY (a notification lost in flight).
        const silent = await issue("silent");
        const sessionB3 = await rawSession(portB, caPem, silent.token);
        const record = {
          tokenId: silent.credential.tokenId,
          revokedAt: Date.now(),
          revokedBy: "system",
        };
        const written = Date.now();
        await direct.sql`INSERT INTO ztna_revocation (token_id, record)
          VALUES (${record.tokenId}, ${direct.sql.json(record)})`;
        assert.equal(await closedWith(sessionB3.conn, 200 + 1_500), "token_revoked");
        pollMs = Date.now() - written;
      } finally {
        direct.close();
        await direct.ended;
      }
      // ztna admin token revoke --config <relay.toml> on a relay whose store is PostgreSQL writes
      // the database, so relay B closes the session too (it used to write A's file only).
      const cli = await issue("cli");
      const sessionB4 = await rawSession(portB, caPem, cli.token);
      const relayToml = await fx.config(`[intermediate]
cert = "${fx.pki.certPath}"
key = "${fx.pki.keyPath}"
token_public_keys = ["${fx.signing.publicPath}"]
${store}
`);
      const revoked = await runZtna([
        "admin",
        "token",
        "revoke",
        "--id",
        cli.credential.tokenId,
        "--config",
        relayToml,
        "--reason",
        "lost laptop",
      ]);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stdout, /revoked token \S+ in the shared store 127\.0\.0\.1:\d+\/fleet/);
      assert.equal(await closedWith(sessionB4.conn, 5_000), "token_revoked");
      assert.ok(!`${revoked.stdout}${revoked.stderr}`.includes(db.password));
      const audit = await adminCall(relayA.url, "/api/v1/audit?limit=5", {
        token: relayA.adminToken,
      });
      assert.match(audit.text, /cli:token-revoke/);
      // A direct path brokered by relay B closes when the token is revoked on relay A: B hears
      // the revocation from the store and tells its direct-capable connector.
      const echo = tcpServer(async (conn) => {
        await conn.readable.pipeTo(conn.writable).catch(() => {});
      });
      try {
        const connector = await fx.connector(
          [portB],
          { web: `127.0.0.1:${echo.port}` },
          (await fx.token("connector")).path,
          { extra: "direct = true" },
        );
        const direct = await issue("direct");
        const path = await brokerDirectPath(portB, caPem, direct.token);
        const forward = directForward(path.conn);
        const held = await HeldFlow.open(forward.port);
        assert.ok(await held.ping("before the revocation"));
        const revokedAt = Date.now();
        await revokeOnA(direct.credential.tokenId);
        assert.equal(await closedWith(path.conn, 5_000), "token_revoked");
        console.log(`direct path via relay B closed ${Date.now() - revokedAt} ms after A revoked`);
        await connector.waitFor(
          /Closed the direct path of "?direct"? for "?web"?: "?token_revoked/,
        );
        held.close();
        forward.close();
      } finally {
        echo.close();
      }
      // A revocation file read by one relay only (C's own) reaches relay B through the store.
      const fileOfC = `${fx.dir}/revoked-c.txt`;
      const configC = await fx.config(`[intermediate]
listen = "127.0.0.1:${freeUdpPort()}"
cert = "${fx.pki.certPath}"
key = "${fx.pki.keyPath}"
token_public_keys = ["${fx.signing.publicPath}"]
revocation_file = "${fileOfC}"
revocation_poll_ms = 200
state_dir = "${fx.dir}/state-c"
${store}
[intermediate.admin]
enabled = false
`);
      const relayC = fx.spawn(["--role=intermediate", "--config", configC], "relay-c");
      await relayC.waitFor(/Relay listening on/);
      const filed = await issue("filed");
      const sessionB5 = await rawSession(portB, caPem, filed.token);
      const filedAt = Date.now();
      await Deno.writeTextFile(fileOfC, `${filed.credential.tokenId}\n`);
      assert.equal(await closedWith(sessionB5.conn, 5_000), "token_revoked");
      const fileMs = Date.now() - filedAt;
      console.log(
        `delivery to relay B: push ${pushMs} ms; LISTEN killed ${healMs} ms; poll only ${pollMs} ms; ` +
          `relay C's revocation file ${fileMs} ms`,
      );
      for (const r of [relayA.relay, relayB.relay, relayC]) r.kill("SIGTERM");
      await relayC.done;
      await Promise.all([relayA.relay.done, relayB.relay.done]);
    } finally {
      await db.stop();
    }
  },
);
