/**
 * What the admin API acknowledged survives `kill -9` of the relay: issued credentials, revocations
 * (of tokens issued through the API and of tokens issued offline) and the audit log, all in the
 * Deno KV store under state_dir; after a restart the revoked tokens are still refused.
 * @module
 */
import assert from "node:assert/strict";
import { adminCall } from "../_helpers/admin_http.ts";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";
import { metricSum } from "../_helpers/metrics.ts";
import { rawHello } from "../_helpers/raw_peer.ts";
import { KV_FILE_NAME, openKvStore } from "../../src/store/mod.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "issued and revoked tokens survive kill -9 of the relay; revoked ones stay refused",
  opts,
  async () => {
    await using fx = await Fixture.create("admin-persist");
    const key = await fx.signingKeyFile();
    const admin = `token_signing_key = "${key}"`;
    const first = await fx.adminRelay(freeUdpPort(), { admin });
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
    const offline = await fx.token("client", { subject: "offline" });
    for (const tokenId of [lost.credential.tokenId, offline.id]) {
      const answer = await adminCall(first.url, "/api/v1/tokens/revoke", {
        token: first.adminToken,
        body: { tokenId },
      });
      assert.equal(answer.status, 200);
    }

    first.relay.kill("SIGKILL");
    const status = await first.relay.done;
    assert.equal(status.signal, "SIGKILL");

    const relayPort = freeUdpPort();
    const second = await fx.adminRelay(relayPort, { admin });
    const tokens = await adminCall(second.url, "/api/v1/tokens", { token: second.adminToken });
    const items = tokens.json().items as { subject: string; status: string }[];
    assert.deepEqual(
      items.map((t) => [t.subject, t.status]).sort(),
      [["kept", "active"], ["lost", "revoked"]],
    );
    const audit = await adminCall(second.url, "/api/v1/audit", { token: second.adminToken });
    const actions = (audit.json().items as { action: string }[]).map((e) => e.action);
    assert.deepEqual(actions, ["token.revoke", "token.revoke", "token.issue", "token.issue"]);

    assert.equal(
      await rawHello(relayPort, fx.pki.caCertPath, "client", lost.token),
      "token_revoked",
    );
    assert.equal(
      await rawHello(relayPort, fx.pki.caCertPath, "client", offline.token),
      "token_revoked",
    );
    assert.equal(await rawHello(relayPort, fx.pki.caCertPath, "client", kept.token), "welcome");
  },
);

Deno.test(
  "the relay deletes audit entries past audit_retention_days at start and counts them",
  opts,
  async () => {
    await using fx = await Fixture.create("audit-retention");
    const stateDir = `${fx.dir}/state`;
    await Deno.mkdir(stateDir, { recursive: true });
    const day = 24 * 60 * 60 * 1_000;
    {
      using store = await openKvStore(`${stateDir}/${KV_FILE_NAME}`);
      for (const [ageDays, target] of [[40, "aged"], [20, "young"]] as const) {
        await store.appendAudit({
          at: Date.now() - ageDays * day,
          actor: "admin:ops",
          action: "token.issue",
          target,
          outcome: "ok",
        });
      }
    }
    const { relay, url, adminToken } = await fx.adminRelay(freeUdpPort(), {
      admin: "audit_retention_days = 30",
      extra: `state_dir = "${stateDir}"`,
    });
    await relay.waitFor(/Deleted 1 audit entries older than 30 days/);
    const audit = await adminCall(url, "/api/v1/audit", { token: adminToken });
    assert.deepEqual((audit.json().items as { target: string }[]).map((e) => e.target), [
      "young",
    ]);
    const metrics = await adminCall(url, "/metrics", { token: adminToken });
    assert.equal(metricSum(metrics.text, "ztna_audit_entries_pruned_total"), 1);
  },
);
