/**
 * A UDP flood through the tunnel: memory stays bounded, drops are counted, and another client on
 * the same relay keeps getting its replies.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";
import { rssMiB } from "../_helpers/proc.ts";
import { echoExchange, udpEcho } from "../_helpers/udp.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** RSS bound for relay and connector during the flood: idle ≈ 70 MiB, measured peaks ≈ 95 (relay) and 135 (connector). */
const RSS_BOUND_MIB = 200;

Deno.test(
  "udp flood: 200,000 datagrams leave memory bounded and an honest client served",
  opts,
  async () => {
    await using fx = await Fixture.create("udp-flood");
    const echo = udpEcho();
    try {
      const relayPort = freeUdpPort();
      const relay = await fx.relay(relayPort);
      const connector = await fx.connector(
        [relayPort],
        { echo: { backend: `127.0.0.1:${echo.port}`, protocol: "udp" } },
        (await fx.token("connector", { services: ["echo"] })).path,
      );
      const floodPort = freeUdpPort();
      const honestPort = freeUdpPort();
      await fx.client(
        [relayPort],
        { [`127.0.0.1:${floodPort}`]: "echo@udp" },
        (await fx.token("client", { services: ["echo"] })).path,
      );
      await fx.client(
        [relayPort],
        { [`127.0.0.1:${honestPort}`]: "echo@udp" },
        (await fx.token("client", { services: ["echo"] })).path,
      );

      const before = { relay: await rssMiB(relay.pid), connector: await rssMiB(connector.pid) };
      let peak = { ...before };
      const sampler = setInterval(async () => {
        peak = {
          relay: Math.max(peak.relay, await rssMiB(relay.pid)),
          connector: Math.max(peak.connector, await rssMiB(connector.pid)),
        };
      }, 100);
      const flooder = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      const target: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: floodPort };
      const payload = new Uint8Array(1_000).fill(0x46);
      const flood = (async () => {
        const deadline = Date.now() + 60_000;
        for (let i = 0; i < 200_000 && Date.now() < deadline; i++) {
          await flooder.send(
            payload,
            target,
          );
        }
      })();
      try {
        const honest = await echoExchange(honestPort, "honest", 500, {
          window: 8,
          deadlineMs: 60_000,
        });
        await flood;
        assert.equal(honest.answered, 500, "the honest client got every reply");
        assert.deepEqual(honest.foreign, []);
      } finally {
        clearInterval(sampler);
        flooder.close();
      }
      console.log(`RSS MiB before ${JSON.stringify(before)} peak ${JSON.stringify(peak)}`);
      assert.ok(peak.relay < RSS_BOUND_MIB, `relay RSS ${peak.relay} MiB`);
      assert.ok(peak.connector < RSS_BOUND_MIB, `connector RSS ${peak.connector} MiB`);
    } finally {
      echo.close();
    }
  },
);
