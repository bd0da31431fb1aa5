/**
 * The client's local status endpoint (`[client] status_listen`): /metrics in Prometheus text and
 * /status in JSON, read after flows through a forward and a drop.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("client status_listen serves /metrics and /status", opts, async () => {
  await using fx = await Fixture.create("client-status");
  const web = httpBackend("web-A");
  try {
    const relayPort = freeUdpPort();
    await fx.relay(relayPort, "", "connector_wait_ms = 300");
    await fx.connector(
      [relayPort],
      { web: `127.0.0.1:${web.port}` },
      (await fx.token("connector", { services: ["web"] })).path,
    );
    const [webPort, nonePort, statusPort] = [freeTcpPort(), freeTcpPort(), freeTcpPort()];
    const client = await fx.client(
      [relayPort],
      { [`127.0.0.1:${webPort}`]: "web", [`127.0.0.1:${nonePort}`]: "none" },
      (await fx.token("client", { services: ["web", "none"] })).path,
      { extra: `direct = false\nstatus_listen = "127.0.0.1:${statusPort}"` },
    );
    await client.waitFor(/Status endpoint on/);
    // curl: one TCP connection, so one flow, per request (fetch would keep one connection alive).
    for (let i = 0; i < 3; i++) {
      const out = await new Deno.Command("curl", {
        args: ["-sS", "--max-time", "10", `http://127.0.0.1:${webPort}/x`],
        stdout: "piped",
      }).output();
      assert.equal(new TextDecoder().decode(out.stdout), "web-A GET /x 0");
    }
    // A service without a connector: the relay refuses the flow; the client counts a drop.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: nonePort });
    await conn.read(new Uint8Array(16)).catch(() => null);
    conn.close();
    await client.waitFor(/Flow to none refused: no_connector/);

    const base = `http://127.0.0.1:${statusPort}`;
    let metrics = "";
    // Flows end asynchronously after curl got its answer: poll briefly for the counters.
    for (let i = 0; i < 50; i++) {
      metrics = await (await fetch(`${base}/metrics`)).text();
      if (/ztna_client_flows_active\{service="web",path="relay"\} 0/.test(metrics)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(metrics, /^ztna_client_relay_connected 1$/m);
    assert.match(metrics, /^ztna_client_relay_connections [1-9]\d*$/m);
    assert.match(metrics, /^ztna_client_flows_opened_total\{service="web",path="relay"\} 3$/m);
    assert.match(metrics, /^ztna_client_flows_active\{service="web",path="relay"\} 0$/m);
    assert.match(
      metrics,
      /^ztna_client_bytes_total\{service="web",path="relay",direction="received"\} [1-9]\d*$/m,
    );
    assert.match(
      metrics,
      /^ztna_client_drops_total\{service="none",reason="no_connector"\} 1$/m,
    );

    const res = await fetch(`${base}/status`);
    assert.equal(res.headers.get("content-type"), "application/json");
    const status = await res.json();
    assert.equal(status.connected, true);
    assert.equal(status.relay, `127.0.0.1:${relayPort}`);
    assert.deepEqual(
      status.forwards.map((f: { service: string }) => f.service).sort(),
      ["none", "web"],
    );
    assert.ok(
      status.flows.some((f: { service: string; opened: number }) =>
        f.service === "web" && f.opened === 3
      ),
    );
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  } finally {
    await web.shutdown();
  }
});
