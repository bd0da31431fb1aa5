/**
 * Tests of the exposition format: golden text, escaping, refusals of bad names, the strict reader,
 * and Prometheus's own checker (`promtool check metrics`, from Debian's `prometheus` package, which
 * .ci/run installs) on everything `/metrics` serves.
 * @module
 */
import assert from "node:assert/strict";
import { relayMetricFamilies, RelayMetrics } from "../relay/relay_metrics.ts";
import { connection, testDeps } from "./_test_deps.ts";
import { AdminMetrics, metricsText } from "./metrics_endpoint.ts";
import { parsePrometheus, renderPrometheus, sampleValue } from "./prometheus.ts";
import { promtool } from "../../tests/_helpers/metrics.ts";

Deno.test("renderPrometheus() writes HELP, TYPE and samples with escaped labels (golden)", () => {
  const text = renderPrometheus([
    {
      name: "ztna_things_total",
      help: "Things seen\nby kind \\ colour",
      type: "counter",
      samples: [
        { labels: { kind: 'a "quoted"\nvalue', colour: "c:\\d" }, value: 3 },
        { labels: {}, value: 0.5 },
      ],
    },
    { name: "ztna_empty", help: "No samples yet", type: "gauge", samples: [] },
    {
      name: "ztna_odd",
      help: "Odd values",
      type: "gauge",
      samples: [{ labels: { v: "nan" }, value: NaN }, { labels: { v: "inf" }, value: Infinity }],
    },
  ]);
  assert.equal(
    text,
    [
      "# HELP ztna_things_total Things seen\\nby kind \\\\ colour",
      "# TYPE ztna_things_total counter",
      'ztna_things_total{kind="a \\"quoted\\"\\nvalue",colour="c:\\\\d"} 3',
      "ztna_things_total 0.5",
      "# HELP ztna_empty No samples yet",
      "# TYPE ztna_empty gauge",
      "# HELP ztna_odd Odd values",
      "# TYPE ztna_odd gauge",
      'ztna_odd{v="nan"} NaN',
      'ztna_odd{v="inf"} +Inf',
      "",
    ].join("\n"),
  );
  const parsed = parsePrometheus(text);
  assert.ok(parsed.ok);
  assert.equal(sampleValue(parsed.samples, "ztna_things_total", { colour: "c:\\d" }), 3);
  assert.equal(parsed.samples[0].labels.kind, 'a "quoted"\nvalue');
});

Deno.test("renderPrometheus() refuses bad or repeated names", () => {
  const family = (name: string, label = "code") => ({
    name,
    help: "h",
    type: "counter" as const,
    samples: [{ labels: { [label]: "x" }, value: 1 }],
  });
  assert.throws(() => renderPrometheus([family("ztna-bad")]), RangeError);
  assert.throws(() => renderPrometheus([family("ztna_a"), family("ztna_a")]), RangeError);
  assert.throws(() => renderPrometheus([family("ztna_a", "__reserved")]), RangeError);
  assert.throws(() => renderPrometheus([family("ztna_a", "1x")]), RangeError);
});

Deno.test("parsePrometheus() refuses what is not the text format", () => {
  for (
    const bad of [
      "ztna_x 1",
      "ztna_x one\n",
      'ztna_x{a="b} 1\n',
      "# COMMENT free text\n",
      "ztna x 1\n",
    ]
  ) {
    assert.equal(parsePrometheus(bad).ok, false, bad);
  }
});

Deno.test("relayMetricFamilies() lists every counter of RelayMetrics and the active flows", () => {
  const metrics = new RelayMetrics();
  metrics.flowsRefused.inc("unauthorized");
  metrics.activeFlows = 3;
  const families = relayMetricFamilies(metrics);
  const names = families.map((f) => f.name);
  assert.ok(names.includes("ztna_flows_refused_total"));
  assert.ok(names.includes("ztna_rate_limited_total"));
  assert.equal(names.at(-1), "ztna_flows_active");
  const parsed = parsePrometheus(renderPrometheus(families));
  assert.ok(parsed.ok);
  assert.equal(
    sampleValue(parsed.samples, "ztna_flows_refused_total", { code: "unauthorized" }),
    1,
  );
  assert.equal(sampleValue(parsed.samples, "ztna_flows_active"), 3);
  assert.equal(
    sampleValue(parsed.samples, "ztna_rate_limited_total", { limit: "handshakes_per_source" }),
    0,
    "rate-limit series exist at 0 before the first rejection",
  );
});

const hasPromtool = (() => {
  try {
    return new Deno.Command("promtool", { args: ["--version"] }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "promtool check metrics accepts everything /metrics serves",
  ignore: !hasPromtool,
  async fn() {
    const deps = await testDeps();
    const metrics = new RelayMetrics();
    metrics.connections.inc("client");
    metrics.authFailures.inc("token_revoked", 2);
    metrics.flowsOpened.inc("web");
    metrics.flowsRefused.inc("unauthorized");
    metrics.bytes.inc("to_client", 1_234);
    deps.relay.families = relayMetricFamilies(metrics);
    deps.relay.conns = [connection()];
    const admin = new AdminMetrics();
    admin.request(200);
    admin.request(401);
    admin.authFailures = 1;
    const verdict = await promtool(metricsText(deps, admin));
    assert.ok(verdict?.ok, verdict?.output);
    assert.equal(verdict?.output.trim(), "", "no lint complaints");
    const broken = await promtool("# TYPE ztna_x counter\nztna_x{a=} 1\n");
    assert.equal(broken?.ok, false, "promtool itself rejects malformed text");
  },
});
