/**
 * FleetLinks: links to learnt relays inside learn_relays only, never a second link to a configured
 * relay, and a relay that left the fleet is retired (not redialled) rather than cut.
 * @module
 */
import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { learnPatterns } from "../config/net_pattern.ts";
import type { RelayTargetConfig } from "../config/schema.ts";
import { FleetLinks } from "./fleet_links.ts";

Deno.test("FleetLinks links learnt relays, retires those that leave, stops on abort", async () => {
  const stop = new AbortController();
  const dialled: string[] = [];
  const links = new FleetLinks([{ address: "192.0.2.1:443" }], {
    patterns: learnPatterns(["192.0.2.0/24"]),
    signal: stop.signal,
    log: getLogger(["ztna", "test"]),
    loop: async (target: RelayTargetConfig, signal: AbortSignal) => {
      dialled.push(target.address);
      // A reconnect loop: asks before each dial whether it is retired.
      while (!signal.aborted && !links.retired(target.address)) {
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  });
  const running = links.run();
  links.learn([
    { address: "192.0.2.1:443" },
    { address: "192.0.2.2:443", server_name: "relay.example.com" },
    { address: "198.51.100.1:443" },
  ]);
  assert.deepEqual(dialled, ["192.0.2.1:443", "192.0.2.2:443"]);
  assert.deepEqual(links.learnt, ["192.0.2.2:443"]);
  links.learn([{ address: "192.0.2.1:443" }]);
  assert.deepEqual(links.learnt, []);
  await new Promise((r) => setTimeout(r, 30));
  stop.abort();
  await running;
  links.learn([{ address: "192.0.2.3:443" }]);
  assert.deepEqual(dialled, ["192.0.2.1:443", "192.0.2.2:443"]);
});
