/**
 * Tests of the CPU profile summary.
 * @module
 */
import assert from "node:assert/strict";
import { type CpuProfile, summarizeProfile } from "./profile_summary.ts";

const frame = (functionName: string, url = "") => ({ functionName, url, lineNumber: 0 });

Deno.test("summarizeProfile() splits idle time off and counts self and inclusive time", () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame("(root)"), children: [2, 3, 5] },
      { id: 2, callFrame: frame("(idle)") },
      { id: 3, callFrame: frame("relayFlow", "file:///r/src/relay/flow_relay.ts"), children: [4] },
      { id: 4, callFrame: frame("write", "ext:deno_web/06_streams.js") },
      { id: 5, callFrame: frame("(garbage collector)") },
    ],
    samples: [2, 3, 4, 4, 5],
    timeDeltas: [5_000, 1_000, 1_000, 1_000, 1_000],
  };
  const s = summarizeProfile(profile);
  assert.equal(s.idleMs, 5);
  assert.equal(s.busyMs, 4);
  assert.deepEqual(s.self.map((e) => [e.name, e.ms]), [
    ["write ext:deno_web/06_streams.js:1", 2],
    ["relayFlow src/relay/flow_relay.ts:1", 1],
    ["(garbage collector)", 1],
  ]);
  assert.equal(s.inclusive.find((e) => e.name.startsWith("relayFlow"))?.ms, 3);
  assert.deepEqual(s.sources.map((e) => [e.name, e.ms]), [
    ["ext:deno_web", 2],
    ["src/relay", 1],
    ["(garbage collector)", 1],
  ]);
});
