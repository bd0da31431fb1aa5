/**
 * Relay restart and shutdown: peers reconnect by themselves with growing backoff while the relay is
 * down; SIGTERM drains, says "going away", and exits 0.
 * @module
 */
import assert from "node:assert/strict";
import { backendBehind, Fixture, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "relay restart: connector re-registers and the client works again, with growing backoff",
  opts,
  async () => {
    await using fx = await Fixture.create("restart");
    const backend = httpBackend("backend");
    try {
      const { relayPort, relay, connector, client, local } = await fx.tunnel(backend.port);
      assert.equal(await backendBehind(local), "backend");

      relay.kill("SIGKILL");
      await relay.done;
      // Let the connector fail several times while the relay is down.
      await connector.waitFor(/attempt 4\)/, 20_000);
      const delays = [...connector.output.matchAll(/in (\d+) ms \(attempt (\d+)\)/g)].map((m) =>
        Number(m[1])
      );
      // Equal jitter: attempt n waits within [d/2, d] with d = min(max, min·2^(n-1)); with min 200 ms,
      // attempt 4 waits at least 800 ms while attempt 1 waits at most 200 ms.
      assert.ok(delays.length >= 4);
      assert.ok(delays[3] > delays[0], `backoff grows: ${delays.join(", ")}`);

      await fx.relay(relayPort);
      const registeredBefore = (connector.output.match(/Registered service/g) ?? []).length;
      await connector.waitFor(
        new RegExp(`(Registered service[\\s\\S]*){${registeredBefore + 1}}`),
        20_000,
      );
      await client.waitFor(/(Connected to relay[\s\S]*){2}/, 20_000);
      assert.equal(await backendBehind(local, "/again"), "backend");
    } finally {
      await backend.shutdown();
    }
  },
);

Deno.test("relay SIGTERM: peers see going_away, the relay exits 0", opts, async () => {
  await using fx = await Fixture.create("sigterm");
  const backend = httpBackend("backend");
  try {
    const relayPort = freeUdpPort();
    const relay = await fx.relay(relayPort);
    const connector = await fx.connector(
      [relayPort],
      { web: `127.0.0.1:${backend.port}` },
      (await fx.token("connector")).path,
    );
    const status = await relay.stop();
    assert.equal(status.code, 0);
    assert.match(relay.output, /Relay stopped/);
    await connector.waitFor(/Lost relay .*going_away/);
  } finally {
    await backend.shutdown();
  }
});

Deno.test("connector SIGTERM: the relay drops its registrations at once", opts, async () => {
  await using fx = await Fixture.create("conn-sigterm");
  const backend = httpBackend("backend");
  try {
    const relayPort = freeUdpPort();
    const relay = await fx.relay(relayPort);
    const connector = await fx.connector(
      [relayPort],
      { web: `127.0.0.1:${backend.port}` },
      (await fx.token("connector")).path,
    );
    const t0 = Date.now();
    assert.equal((await connector.stop()).code, 0);
    await relay.waitFor(/left the pool of "?web/, 2_000);
    assert.ok(Date.now() - t0 < 2_000, "well before the 3 s idle timeout");
  } finally {
    await backend.shutdown();
  }
});
