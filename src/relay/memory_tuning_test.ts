import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import { memoryTuningHint, RELAY_ENV, RELAY_GLIBC_TUNABLES } from "./memory_tuning.ts";

Deno.test("memoryTuningHint speaks only for a Linux relay without an mmap threshold", () => {
  assert.match(memoryTuningHint("linux", undefined) ?? "", /GLIBC_TUNABLES is not set/);
  assert.match(memoryTuningHint("linux", "glibc.malloc.arena_max=2") ?? "", /not set/);
  assert.equal(memoryTuningHint("linux", RELAY_GLIBC_TUNABLES), undefined);
  assert.equal(memoryTuningHint("darwin", undefined), undefined);
});

Deno.test("deno task relay runs with the environment the bench measures as shipped", () => {
  const prefix = Object.entries(RELAY_ENV).map(([k, v]) => `${k}=${v} `).join("");
  // `-q` keeps Deno's "experimental feature" banner out of the relay's output.
  assert.ok(denoJson.tasks.relay.startsWith(`${prefix}deno run -q -P=ztna `), denoJson.tasks.relay);
  assert.equal(RELAY_ENV.GLIBC_TUNABLES, RELAY_GLIBC_TUNABLES);
});
