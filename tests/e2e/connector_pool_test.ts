/**
 * Connector pools: several connectors for one service share its flows, and losing one (kill -9)
 * moves every new flow to the survivors once the relay notices, within its idle timeout.
 * @module
 */
import assert from "node:assert/strict";
import {
  backendBehind,
  Fixture,
  freeTcpPort,
  freeUdpPort,
  httpBackend,
} from "../_helpers/cluster.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "pool: two connectors for one service both receive flows; after kill -9 of one the other takes all",
  opts,
  async () => {
    await using fx = await Fixture.create("pool");
    const a = httpBackend("A");
    const b = httpBackend("B");
    try {
      const relayPort = freeUdpPort();
      const relay = await fx.relay(relayPort);
      const connA = await fx.connector(
        [relayPort],
        { web: `127.0.0.1:${a.port}` },
        (await fx.token("connector")).path,
      );
      await fx.connector(
        [relayPort],
        { web: `127.0.0.1:${b.port}` },
        (await fx.token("connector")).path,
      );
      const local = freeTcpPort();
      await fx.client(
        [relayPort],
        { [`127.0.0.1:${local}`]: "web" },
        (await fx.token("client")).path,
      );

      const seen: string[] = [];
      for (let i = 0; i < 10; i++) seen.push(await backendBehind(local));
      assert.ok(
        seen.includes("A") && seen.includes("B"),
        `both connectors served: ${seen.join(",")}`,
      );

      connA.kill("SIGKILL");
      const killedAt = Date.now();
      // Bound: the relay's idle timeout in this fixture is 3 s; allow scheduling slack.
      await relay.waitFor(/left the pool of "?web/, 8_000);
      const noticedMs = Date.now() - killedAt;
      assert.ok(noticedMs < 8_000, `relay noticed in ${noticedMs} ms`);
      const after: string[] = [];
      for (let i = 0; i < 10; i++) after.push(await backendBehind(local));
      assert.deepEqual(after, Array(10).fill("B"));
    } finally {
      await a.shutdown();
      await b.shutdown();
    }
  },
);
