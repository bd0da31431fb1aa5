/**
 * Direct-path candidates on loopback: each side announces the address the relay observed and its
 * own interface addresses (IPv4, no link-local; loopback since the relay is on loopback), and the
 * client dials what the connector announced.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "direct path candidates: observed address first, then the host's interfaces",
  opts,
  async () => {
    await using fx = await Fixture.create("direct-cand");
    const backend = httpBackend("backend");
    try {
      const relayPort = freeUdpPort();
      await fx.relay(relayPort);
      const { client } = await fx.attach([relayPort], backend.port, {
        connector: { extra: "direct = true" },
        client: { extra: "direct = true", logLevel: "debug" },
      });
      const m = await client.waitFor(
        /Dialing "?([^"\n]+?)"? for a direct path to "?web"?; announced "?([^"\n]+?)"?$/m,
        15_000,
      );
      const theirs = m[1].split(" ");
      const ours = m[2].split(" ");
      // The relay saw both sides on loopback: that is the first candidate of each.
      assert.match(theirs[0], /^127\.0\.0\.1:\d+$/);
      assert.match(ours[0], /^127\.0\.0\.1:\d+$/);
      const hostV4 = Deno.networkInterfaces()
        .filter((i) => i.family === "IPv4" && !i.address.startsWith("169.254."))
        .map((i) => i.address);
      for (const side of [theirs, ours]) {
        for (const address of hostV4.slice(0, 7)) {
          if (address === "127.0.0.1") continue;
          assert.ok(side.some((c) => c.startsWith(`${address}:`)), `${address} not in ${side}`);
        }
        assert.ok(side.length <= 8);
        assert.ok(side.every((c) => !c.includes("::")), "no IPv6 candidates on an IPv4 endpoint");
      }
      await client.waitFor(/Direct path to "?web"? is up/, 15_000);
    } finally {
      await backend.shutdown();
    }
  },
);
