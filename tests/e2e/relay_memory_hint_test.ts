/**
 * A Linux relay started without `deno task relay`'s memory settings says so once at start; with
 * them it stays quiet (docs/OPERATIONS.md, "Relay memory").
 * @module
 */
import assert from "node:assert/strict";
import { RELAY_ENV } from "../../src/relay/memory_tuning.ts";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";

const opts = { sanitizeOps: false, sanitizeResources: false, ignore: Deno.build.os !== "linux" };
const HINT = /GLIBC_TUNABLES is not set/;

Deno.test(
  "a relay without its memory settings logs the hint; with them it does not",
  opts,
  async () => {
    await using fx = await Fixture.create("memory-hint");
    const tuned = Object.entries(RELAY_ENV).map(([k, v]) => `${k}=${v}`);
    // Two relays at once: each keeps its own state folder (a second relay on one folder stops).
    const plain = await fx.relay(
      freeUdpPort(),
      `state_dir = "${fx.dir}/state-plain"`,
      "",
      "",
      "enabled = false",
      {
        wrapper: ["env", "-u", "GLIBC_TUNABLES"],
      },
    );
    const withSettings = await fx.relay(
      freeUdpPort(),
      `state_dir = "${fx.dir}/state-tuned"`,
      "",
      "",
      "enabled = false",
      {
        wrapper: ["env", ...tuned],
      },
    );
    await plain.waitFor(HINT, 5_000);
    // The hint follows "Relay listening" at once; the plain relay's shows it has had its chance.
    await new Promise((r) => setTimeout(r, 300));
    assert.doesNotMatch(withSettings.output, HINT);
  },
);
