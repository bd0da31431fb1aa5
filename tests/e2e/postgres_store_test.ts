/**
 * A relay on the PostgreSQL store (a real server started here, TLS verified, password from a file):
 * a token issued and revoked through the admin API stays revoked after the relay is killed and
 * started again, and the audit log is read back from the database. Runs under the shipped
 * permission set, so the relay's sandbox must reach the database's host:port.
 * @module
 */
import assert from "node:assert/strict";
import { adminCall } from "../_helpers/admin_http.ts";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";
import { startPostgres } from "../_helpers/postgres.ts";
import { rawHello } from "../_helpers/raw_peer.ts";
import { openPostgresStore } from "../../src/store/mod.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "a relay on PostgreSQL keeps an admin-API revocation across kill -9 and restart",
  opts,
  async () => {
    const db = await startPostgres();
    try {
      await db.createDatabase("relay");
      await using fx = await Fixture.create("pg-store");
      const passwordFile = `${fx.dir}/db-password`;
      // A trailing newline, as `echo secret > file` writes it: not part of the password.
      await Deno.writeTextFile(passwordFile, `${db.password}\n`, { mode: 0o600 });
      const caFile = `${fx.dir}/db-ca.pem`;
      await Deno.writeTextFile(caFile, db.caPem);
      const store = `store = { kind = "postgres", url = "${db.url("relay")}", ` +
        `password_file = "${passwordFile}", ca = "${caFile}" }`;
      const admin = `token_signing_key = "${await fx.signingKeyFile()}"`;

      const first = await fx.adminRelay(freeUdpPort(), { admin, extra: store });
      const issue = async (subject: string) => {
        const answer = await adminCall(first.url, "/api/v1/tokens", {
          token: first.adminToken,
          body: { subject, role: "client", services: ["web"], ttlSeconds: 3_600 },
        });
        assert.equal(answer.status, 201);
        return answer.json() as { token: string; credential: { tokenId: string } };
      };
      const kept = await issue("kept");
      const lost = await issue("lost");
      const revoked = await adminCall(first.url, "/api/v1/tokens/revoke", {
        token: first.adminToken,
        body: { tokenId: lost.credential.tokenId },
      });
      assert.equal(revoked.status, 200);
      first.relay.kill("SIGKILL");
      assert.equal((await first.relay.done).signal, "SIGKILL");

      const relayPort = freeUdpPort();
      const second = await fx.adminRelay(relayPort, { admin, extra: store });
      const tokens = await adminCall(second.url, "/api/v1/tokens", { token: second.adminToken });
      const items = tokens.json().items as { subject: string; status: string }[];
      assert.deepEqual(
        items.map((t) => [t.subject, t.status]).sort(),
        [["kept", "active"], ["lost", "revoked"]],
      );
      const audit = await adminCall(second.url, "/api/v1/audit", { token: second.adminToken });
      assert.deepEqual(
        (audit.json().items as { action: string }[]).map((e) => e.action),
        ["token.revoke", "token.issue", "token.issue"],
      );
      assert.equal(
        await rawHello(relayPort, fx.pki.caCertPath, "client", lost.token),
        "token_revoked",
      );
      assert.equal(await rawHello(relayPort, fx.pki.caCertPath, "client", kept.token), "welcome");
      second.relay.kill("SIGTERM");
      await second.relay.done;
      // The records are in the database itself (not in a KV file under state_dir).
      const direct = await openPostgresStore({
        url: db.url("relay"),
        password: db.password,
        caCerts: [db.caPem],
      });
      try {
        assert.ok((await direct.getCredential(lost.credential.tokenId))?.revokedAt);
        assert.deepEqual((await direct.listRevocations()).map((r) => r.tokenId), [
          lost.credential.tokenId,
        ]);
      } finally {
        direct.close();
        await direct.ended;
      }
    } finally {
      await db.stop();
    }
  },
);
