/**
 * `/metrics` of a real relay across a scripted scenario — peers connect, a flow is relayed, a flow
 * is refused, a HELLO is refused — checked by parsing the exposition after each step, and the
 * whole scrape checked by Prometheus's own `promtool check metrics` (installed by .ci/run).
 * @module
 */
import assert from "node:assert/strict";
import { type ParsedSample, parsePrometheus, sampleValue } from "../../src/admin/mod.ts";
import { readCertificateInfo } from "../../src/pki/mod.ts";
import { adminCall, eventually } from "../_helpers/admin_http.ts";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { rawHello } from "../_helpers/raw_peer.ts";
import { promtool } from "../_helpers/metrics.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("relay metrics move as peers connect, flows open and refusals happen", opts, async () => {
  await using fx = await Fixture.create("admin-metrics");
  const backend = httpBackend("backend");
  try {
    const relayPort = freeUdpPort();
    const { url, adminToken } = await fx.adminRelay(relayPort);
    const scrape = async (): Promise<ParsedSample[]> => {
      const answer = await adminCall(url, "/metrics", { token: adminToken });
      assert.equal(answer.status, 200);
      assert.match(answer.type, /^text\/plain; version=0\.0\.4/);
      const parsed = parsePrometheus(answer.text);
      assert.ok(parsed.ok, parsed.ok ? "" : `line ${parsed.line}: ${parsed.problem}`);
      return parsed.samples;
    };
    const value = (s: ParsedSample[], name: string, labels: Record<string, string> = {}) =>
      sampleValue(s, name, labels) ?? 0;

    const start = await scrape();
    assert.equal(value(start, "ztna_connections_open", { role: "client" }), 0);
    assert.equal(value(start, "ztna_build_info", { deno: Deno.version.deno }), 1);
    const notAfter = readCertificateInfo(await Deno.readTextFile(fx.pki.certPath)).notAfter;
    assert.equal(
      value(start, "ztna_certificate_expiry_timestamp_seconds"),
      Math.floor(notAfter.getTime() / 1_000),
    );
    assert.equal(value(start, "ztna_rate_limited_total", { limit: "handshakes_per_source" }), 0);

    await fx.connector(
      [relayPort],
      { web: `127.0.0.1:${backend.port}`, admin: `127.0.0.1:${backend.port}` },
      (await fx.token("connector", { services: ["*"] })).path,
      // One connection per peer: the counts below are per connection (a lane adds one each).
      { extra: "tcp_lane = false" },
    );
    const web = freeTcpPort();
    const denied = freeTcpPort();
    const client = await fx.client(
      [relayPort],
      { [`127.0.0.1:${web}`]: "web", [`127.0.0.1:${denied}`]: "admin" },
      (await fx.token("client", { services: ["web"] })).path,
      { extra: "tcp_lane = false" },
    );
    const connected = await scrape();
    assert.equal(value(connected, "ztna_connections_open", { role: "client" }), 1);
    assert.equal(value(connected, "ztna_connections_open", { role: "connector" }), 1);
    assert.equal(value(connected, "ztna_connections_total", { role: "client" }), 1);
    assert.equal(value(connected, "ztna_registrations_total", { outcome: "ack" }), 2);
    assert.equal(value(connected, "ztna_services_up"), 2);

    const body = "x".repeat(10_000);
    {
      // Its own HTTP client, closed after the request, so the flow ends (no keep-alive pool).
      using http = Deno.createHttpClient({});
      const reply = await fetch(`http://127.0.0.1:${web}/`, { method: "POST", body, client: http });
      assert.match(await reply.text(), /^backend POST \/ 10000$/);
      const during = await scrape();
      assert.equal(value(during, "ztna_flows_active"), 1);
    }
    await assert.rejects(fetch(`http://127.0.0.1:${denied}/`));
    await client.waitFor(/Flow to "?admin"? refused: "?unauthorized/);
    assert.equal(
      await rawHello(relayPort, fx.pki.caCertPath, "client", ""),
      "unauthenticated",
    );

    const after = await eventually("the flow to close", async () => {
      const s = await scrape();
      return value(s, "ztna_flows_active") === 0 ? s : undefined;
    });
    assert.equal(value(after, "ztna_flows_opened_total", { service: "web" }), 1);
    assert.equal(value(after, "ztna_flows_refused_total", { code: "unauthorized" }), 1);
    assert.ok(value(after, "ztna_relayed_bytes_total", { direction: "to_connector" }) > 10_000);
    assert.ok(value(after, "ztna_relayed_bytes_total", { direction: "to_client" }) > 0);
    assert.equal(value(after, "ztna_auth_failures_total", { code: "unauthenticated" }), 1);
    assert.ok(value(after, "ztna_admin_requests_total", { status: "200" }) >= 3);

    const text = (await adminCall(url, "/metrics", { token: adminToken })).text;
    const verdict = await promtool(text);
    if (verdict === undefined) {
      console.warn("promtool not installed: only the strict reader checked /metrics");
    } else {
      assert.ok(verdict.ok, verdict.output);
      assert.equal(verdict.output.trim(), "", "promtool has no lint complaints");
    }
  } finally {
    await backend.shutdown();
  }
});
