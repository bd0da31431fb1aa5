/**
 * Production logging (I1): at info no peer address, token or payload appears in any role's log;
 * at debug one flow can be followed through client, relay and connector by its flow id.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function runFlow(level: "info" | "debug") {
  const fx = await Fixture.create(`log-${level}`);
  const backend = httpBackend("backend");
  const relayPort = freeUdpPort();
  const relay = await fx.relay(relayPort, "", "", level);
  const connectorToken = await fx.token("connector");
  const connector = await fx.connector(
    [relayPort],
    { web: `127.0.0.1:${backend.port}` },
    connectorToken.path,
    {
      logLevel: level,
    },
  );
  const local = freeTcpPort();
  const clientToken = await fx.token("client");
  const client = await fx.client([relayPort], { [`127.0.0.1:${local}`]: "web" }, clientToken.path, {
    logLevel: level,
  });
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
