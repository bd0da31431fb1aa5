/**
 * A NACK is final for the session (finding L8: no retry storm): a connector whose registration the
 * relay refused does not send it again while that session lasts, and a new session (after a kick)
 * sends it exactly once more. Counted at the relay through /metrics, over bounded windows.
 * @module
 */
import assert from "node:assert/strict";
import { parsePrometheus, sampleValue } from "../../src/admin/mod.ts";
import { adminCall, eventually } from "../_helpers/admin_http.ts";
import { Fixture, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Quiet time after which a re-sent registration would have shown (reconnect_max_ms is 2 s). */
const WINDOW_MS = 3_000;

Deno.test(
  "L8: a NACKed registration is not re-sent during the session, and once per new session",
  opts,
  async () => {
    await using fx = await Fixture.create("nack-final");
    const backend = httpBackend("backend");
    try {
      const relayPort = freeUdpPort();
      const { url, adminToken } = await fx.adminRelay(relayPort);
      const registrations = async (outcome: string) => {
        const parsed = parsePrometheus(
          (await adminCall(url, "/metrics", { token: adminToken })).text,
        );
        assert.ok(parsed.ok);
        return sampleValue(parsed.samples, "ztna_registrations_total", { outcome }) ?? 0;
      };
      const connector = await fx.connector(
        [relayPort],
        { web: `127.0.0.1:${backend.port}`, db: `127.0.0.1:${backend.port}` },
        (await fx.token("connector", { subject: "dc-1", services: ["web"] })).path,
        {
          wait: /Relay refused to register service "?db"?: "?unauthorized/,
          // One link: a TCP lane would ask for each service a second time (counted below).
          extra: "tcp_lane = false",
        },
      );
      await connector.waitFor(/Registered service "?web/);

      await new Promise((r) => setTimeout(r, WINDOW_MS));
      assert.equal(await registrations("unauthorized"), 1, "db was asked for once");
      assert.equal(await registrations("ack"), 1);

      // A new session: the operator kicks the connector, which reconnects and registers anew.
      const list = await adminCall(url, "/api/v1/connections", { token: adminToken });
      const items = list.json().items as Array<{ connId: string; role: string }>;
      const connId = items.find((c) => c.role === "connector")?.connId;
      assert.ok(connId, list.text);
      const kick = await adminCall(url, `/api/v1/connections/${connId}/kick`, {
        token: adminToken,
        method: "POST",
      });
      assert.equal(kick.status, 200, kick.text);
      await eventually(
        "the second session's ACK",
        async () => (await registrations("ack")) === 2 || undefined,
      );
      await new Promise((r) => setTimeout(r, WINDOW_MS));
      assert.equal(await registrations("unauthorized"), 2, "db was asked for once per session");
      assert.equal(await registrations("ack"), 2);
      assert.equal(
        [...connector.output.matchAll(/Relay refused to register service "?db/g)].length,
        2,
      );
    } finally {
      await backend.shutdown();
    }
  },
);
