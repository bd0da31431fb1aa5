/**
 * A UDP flood through the tunnel: memory stays bounded, drops are counted, and another client on
 * the same relay keeps getting its replies.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";
import { rssMiB } from "../_helpers/proc.ts";
import { echoExchange, udpEcho } from "../_helpers/udp.ts";
import { adminCall } from "../_helpers/admin_http.ts";
import { metricSum } from "../_helpers/metrics.ts";

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
      const { relay, url, adminToken } = await fx.adminRelay(relayPort);
      const connector = await fx.connector(
        [relayPort],
        { echo: { backend: `127.0.0.1:${echo.port}`, protocol: "udp" } },
        (await fx.token("connector", { services: ["echo"] })).path,
      );
      const floodPort = freeUdpPort();
      const honestPort = freeUdpPort();
      const floodClient = await fx.client(
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
      // Drops are visible: the relay's counters, and the flooding client's own count when it stops.
      // (Most of the 200,000 never reach us: the kernel drops them at the client's full socket buffer.)
      const metrics = (await adminCall(url, "/metrics", { token: adminToken })).text;
      const relayed = metricSum(metrics, "ztna_relayed_datagrams_total");
      const relayDrops = metricSum(metrics, "ztna_datagram_drops_total");
      await floodClient.stop();
      const clientDrops = [
        ...floodClient.output.matchAll(/"?(?:queue_full|send_failed|flow_limit)"?: ?(\d+)/g),
      ]
        .reduce((n, m) => n + Number(m[1]), 0);
      console.log(
        `relayed ${relayed}, dropped at relay ${relayDrops}, at the flooding client ${clientDrops}`,
      );
      assert.ok(relayed > 0, "datagrams were relayed");
      assert.ok(relayDrops + clientDrops > 0, "drops are counted where they happen");
      assert.ok(peak.relay < RSS_BOUND_MIB, `relay RSS ${peak.relay} MiB`);
      assert.ok(peak.connector < RSS_BOUND_MIB, `connector RSS ${peak.connector} MiB`);
    } finally {
      echo.close();
    }
  },
);
