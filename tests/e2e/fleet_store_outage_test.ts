/**
 * A relay on PostgreSQL when the database stops (pg_ctl stop): established sessions and their new
 * flows go on; new HELLOs are still admitted within max_staleness_ms (3 s here), then refused
 * `state_unavailable` (fail closed), with /readyz 503 and ztna_store_fail_closed 1; when the
 * database starts again everything resumes without a restart. The database password appears in
 * no log line or admin answer. Then a database migrated past this build's schema is refused at
 * start with a message naming the fix.
 * @module
 */
import assert from "node:assert/strict";
import { adminCall, eventually } from "../_helpers/admin_http.ts";
import { backendBehind, Fixture, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { startPostgres } from "../_helpers/postgres.ts";
import { rawHello } from "../_helpers/raw_peer.ts";
import { openPostgresStore, SCHEMA_VERSION } from "../../src/store/mod.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "a relay whose database stops fails closed after max_staleness_ms and recovers",
  opts,
  async () => {
    const db = await startPostgres();
    let paused = false;
    try {
      await db.createDatabase("outage");
      await using fx = await Fixture.create("pg-outage");
      const passwordFile = `${fx.dir}/db-password`;
      await Deno.writeTextFile(passwordFile, db.password, { mode: 0o600 });
      const caFile = `${fx.dir}/db-ca.pem`;
      await Deno.writeTextFile(caFile, db.caPem);
      const port = freeUdpPort();
      const { relay, url, adminToken } = await fx.adminRelay(port, {
        admin: "metrics_public = true",
        extra: `state_dir = "${fx.dir}/state"\n` +
          `store = { kind = "postgres", url = "${db.url("outage")}", ` +
          `password_file = "${passwordFile}", ca = "${caFile}", max_staleness_ms = 3000 }\n` +
          `fleet = { heartbeat_ms = 200, expiry_ms = 1000 }`,
      });
      const backend = httpBackend("web");
      const { local } = await fx.attach([port], backend.port);
      assert.equal(await backendBehind(local), "web");
      const hello = async () =>
        rawHello(port, fx.pki.caCertPath, "client", (await fx.token("client")).token);
      const failClosed = async () => {
        const metrics = await adminCall(url, "/metrics");
        return /^ztna_store_fail_closed 1$/m.test(metrics.text);
      };
      assert.equal(await hello(), "welcome");

      // The last heartbeat before the stop is at most heartbeat_ms (200) older than this.
      const stoppedAt = Date.now() - 200;
      await db.pause();
      paused = true;
      // Within max_staleness_ms: cached state still admits.
      assert.equal(await hello(), "welcome");
      assert.ok(Date.now() - stoppedAt < 3_000, "the HELLO within staleness came too late");
      await relay.waitFor(/refusing new authentications/, 8_000);
      const closedAfter = Date.now() - stoppedAt;
      assert.ok(closedAfter >= 3_000, `failed closed after ${closedAfter} ms, before the bound`);
      assert.equal(await hello(), "state_unavailable");
      assert.equal(await failClosed(), true);
      const ready = await adminCall(url, "/readyz");
      assert.equal(ready.status, 503);
      assert.equal((ready.json().checks as Record<string, boolean>).store, false);
      // The established session still carries new flows.
      assert.equal(await backendBehind(local), "web");

      await db.resume();
      paused = false;
      const resumedAt = Date.now();
      await eventually(
        "admitting again",
        async () => (await hello()) === "welcome" || undefined,
        15_000,
      );
      console.log(
        `fail closed ${closedAfter} ms after the stop (max_staleness_ms 3000); admitting again ` +
          `${Date.now() - resumedAt} ms after the restart`,
      );
      assert.equal(await failClosed(), false);
      assert.equal((await adminCall(url, "/readyz")).status, 200);
      assert.equal(await backendBehind(local), "web");
      const answers = [
        await adminCall(url, "/metrics"),
        await adminCall(url, "/api/v1/connections", { token: adminToken }),
      ];
      for (const text of [relay.output, ...answers.map((a) => a.text)]) {
        assert.ok(!text.includes(db.password), "the database password leaked");
      }
      await backend.shutdown();

      // A newer relay migrated the database past what this build knows: this build refuses it
      // at start, with a message that says what to do.
      const direct = await openPostgresStore({
        url: db.url("outage"),
        password: db.password,
        caCerts: [db.caPem],
      });
      try {
        await direct.sql`UPDATE ztna_schema SET version = ${SCHEMA_VERSION + 1}`;
      } finally {
        direct.close();
        await direct.ended;
      }
      const config = await fx.config(`[intermediate]
listen = "127.0.0.1:${freeUdpPort()}"
cert = "${fx.pki.certPath}"
key = "${fx.pki.keyPath}"
token_public_keys = ["${fx.signing.publicPath}"]
state_dir = "${fx.dir}/state-old"
store = { kind = "postgres", url = "${
        db.url("outage")
      }", password_file = "${passwordFile}", ca = "${caFile}" }
`);
      const old = fx.spawn(["--role=intermediate", "--config", config], "relay-old");
      const status = await old.done;
      assert.notEqual(status.code, 0);
      assert.match(old.output, /schema is version \d+, newer than this relay knows/);
      assert.match(old.output, /upgrade this relay/);
    } finally {
      if (paused) await db.resume();
      await db.stop();
    }
  },
);
