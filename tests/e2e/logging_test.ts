/**
 * Production logging (I1): at info no peer address, token or payload appears in any role's log;
 * at debug one flow can be followed through client, relay and connector by its flow id.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { linesAtInfo, unconfiguredAddresses } from "../_helpers/log_lines.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function runFlow(level: "info" | "debug", direct = false) {
  const fx = await Fixture.create(`log-${level}`);
  const extra = direct ? "direct = true" : "";
  const backend = httpBackend("backend");
  const relayPort = freeUdpPort();
  const relay = await fx.relay(relayPort, "", "", level);
  const connectorToken = await fx.token("connector");
  const connector = await fx.connector(
    [relayPort],
    { web: `127.0.0.1:${backend.port}` },
    connectorToken.path,
    { logLevel: level, extra },
  );
  const local = freeTcpPort();
  const clientToken = await fx.token("client");
  const client = await fx.client([relayPort], { [`127.0.0.1:${local}`]: "web" }, clientToken.path, {
    logLevel: level,
    extra,
  });
  if (direct) await client.waitFor(/Direct path to "?web"? is up/, 15_000);
  const marker = `PAYLOAD-${crypto.randomUUID()}`;
  const res = await fetch(`http://127.0.0.1:${local}/`, { method: "POST", body: marker });
  assert.match(await res.text(), /^backend POST/);
  await Promise.all([relay.stop(), connector.stop(), client.stop()]);
  await backend.shutdown();
  await fx[Symbol.asyncDispose]();
  return {
    relay: relay.output,
    connector: connector.output,
    client: client.output,
    all: relay.output + connector.output + client.output,
    secrets: [marker, connectorToken.token, clientToken.token],
    configured: new Set([relayPort, local, backend.port].map(String)),
    configuredAddresses: [relayPort, local, backend.port].map((p) => `127.0.0.1:${p}`),
  };
}

Deno.test("logs at info carry no peer address, token or payload", opts, async () => {
  const run = await runFlow("info");
  for (const secret of run.secrets) {
    assert.ok(!run.all.includes(secret), "no token or payload in logs");
  }
  // The only addresses allowed are the configured ones (listen, relay, forward); a peer's
  // ephemeral address (e.g. the observed QUIC source) must not appear.
  const seen = [...run.all.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => m[1]);
  const unexpected = seen.filter((port) => !run.configured.has(port));
  assert.deepEqual(unexpected, [], "no peer address at info");
  assert.doesNotMatch(run.all, /DEBUG/);
});

Deno.test(
  "logs at info carry no peer address with direct paths up (their info lines, from a debug run)",
  opts,
  async () => {
    const run = await runFlow("debug", true);
    assert.match(run.client, /open via "?direct/, "the flow took the direct path");
    assert.match(run.client, /Direct path to "?web"? goes via "?127\.0\.0\.1:\d+/, "debug has it");
    const info = linesAtInfo(run.all);
    assert.ok(info.some((l) => /Direct path to "?web"? is up/.test(l)));
    assert.deepEqual(unconfiguredAddresses(info, run.configuredAddresses), []);
    for (const secret of run.secrets) {
      assert.ok(!info.join("\n").includes(secret), "no token or payload at info");
    }
  },
);

Deno.test("logs at debug trace one flow through client, relay and connector", opts, async () => {
  const run = await runFlow("debug");
  for (const secret of run.secrets) {
    assert.ok(!run.all.includes(secret), "still no token or payload");
  }
  const flowId = /Flow (\d+) to "?web"? via/.exec(run.relay)?.[1];
  assert.ok(flowId, "the relay logs the flow with its id");
  assert.match(run.client, new RegExp(`Flow ${flowId} to "?web"? open`));
  assert.match(run.connector, new RegExp(`Flow ${flowId} for "?client-\\d+"? to "?web`));
  assert.match(run.relay, /observed at "?127\.0\.0\.1:\d+/, "peer addresses appear at debug");
});
