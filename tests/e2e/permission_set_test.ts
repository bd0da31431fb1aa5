/**
 * The shipped binary's permissions: `deno task compile` and every process the e2e tests start use the
 * one permission set in deno.json, and that set grants no run, FFI or blanket access.
 * @module
 */
import assert from "node:assert/strict";
import { REPO_ROOT, RUN_FLAGS } from "../_helpers/ztna_process.ts";

const denoJson = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`));

Deno.test("compile, start, demo and the e2e tests use the same permission set", () => {
  for (const task of ["start", "demo", "certs"]) {
    assert.match(denoJson.tasks[task], /(^| )-P=ztna( |$)/, `task ${task}`);
  }
  // compile: tools/compile.sh holds the one compile command (compile_guard_test.ts reads it).
  assert.match(denoJson.tasks.compile, /^tools\/compile\.sh /);
  assert.match(Deno.readTextFileSync(`${REPO_ROOT}/tools/compile.sh`), /flags=\(-q -P=ztna\)/);
  assert.ok(RUN_FLAGS.includes("-P=ztna"));
  assert.deepEqual(denoJson.unstable, ["net", "kv", "worker-options"]);
});

Deno.test("the ztna permission set grants no run, ffi, blanket access, and sys only for interfaces", () => {
  const set = denoJson.permissions.ztna;
  assert.equal(set.all, undefined);
  assert.equal(set.run, undefined);
  assert.equal(set.ffi, undefined);
  // Interface addresses are direct-path candidates (src/p2p/candidates.ts); nothing else.
  assert.deepEqual(set.sys, ["networkInterfaces"]);
  assert.ok(Array.isArray(set.read) && Array.isArray(set.write) && Array.isArray(set.env));
  // GLIBC_TUNABLES: read only, so the relay can say when its allocator tuning is missing.
  assert.ok(
    set.env.every((v: string) =>
      v.startsWith("ZTNA_") || v === "NO_COLOR" || v === "GLIBC_TUNABLES" ||
      /^(HTTPS_PROXY|https_proxy|NO_PROXY|no_proxy)$/.test(v)
    ),
  );
});
