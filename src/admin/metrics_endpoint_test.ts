/**
 * Golden test of the whole `/metrics` text for a known relay state.
 * @module
 */
import assert from "node:assert/strict";
import { VERSION } from "../version.ts";
import { connection, T0, testDeps } from "./_test_deps.ts";
import { AdminMetrics, metricsText } from "./metrics_endpoint.ts";

Deno.test("metricsText() renders build info, live gauges, relay counters and admin counters (golden)", async () => {
  const deps = await testDeps();
  deps.relay.conns = [
    connection(),
    connection({ connId: "00000002", role: "connector" }),
    connection({ connId: "00000003", role: "pending" }),
  ];
  deps.relay.pools = [
    { service: "web", health: "up", members: [] },
    { service: "db", health: "down", members: [] },
  ];
  deps.relay.families = [{
    name: "ztna_flows_refused_total",
    help: "Flows refused, by reason",
    type: "counter",
    samples: [{ labels: { code: "unauthorized" }, value: 2 }],
  }];
  const admin = new AdminMetrics();
  admin.request(200);
  admin.request(200);
  admin.request(401);
  admin.authFailures = 1;
  assert.equal(
    metricsText(deps, admin),
    `# HELP ztna_build_info Build of the running relay; the value is always 1
# TYPE ztna_build_info gauge
ztna_build_info{version="${VERSION}",deno="${Deno.version.deno}"} 1
# HELP ztna_connections_open Open peer connections by role (pending: HELLO not yet accepted)
# TYPE ztna_connections_open gauge
ztna_connections_open{role="client"} 1
ztna_connections_open{role="connector"} 1
ztna_connections_open{role="pending"} 1
# HELP ztna_services_up Services with at least one connector online
# TYPE ztna_services_up gauge
ztna_services_up 1
# HELP ztna_flows_refused_total Flows refused, by reason
# TYPE ztna_flows_refused_total counter
ztna_flows_refused_total{code="unauthorized"} 2
# HELP ztna_certificate_expiry_timestamp_seconds When the relay's TLS certificate expires (Unix time)
# TYPE ztna_certificate_expiry_timestamp_seconds gauge
ztna_certificate_expiry_timestamp_seconds ${(T0 + 86_400_000) / 1_000}
# HELP ztna_admin_requests_total Admin endpoint requests answered, by HTTP status
# TYPE ztna_admin_requests_total counter
ztna_admin_requests_total{status="200"} 2
ztna_admin_requests_total{status="401"} 1
# HELP ztna_admin_auth_failures_total Admin requests refused for a missing or unknown admin token
# TYPE ztna_admin_auth_failures_total counter
ztna_admin_auth_failures_total 1
`,
  );
});
