/**
 * The policy shown in docs/OPERATIONS.md ("Access policy") loads as written and its tests pass,
 * and the explain example prints what the docs say it prints.
 * @module
 */
import assert from "node:assert/strict";
import { sectionBlocks } from "../_helpers/doc_blocks.ts";
import { evaluate, loadPolicy } from "../../src/policy/mod.ts";

const DOC = new URL("../../docs/OPERATIONS.md", import.meta.url);

Deno.test("docs/OPERATIONS.md: the complete policy loads and its tests pass", async () => {
  const blocks = sectionBlocks(await Deno.readTextFile(DOC), "Access policy");
  const toml = blocks.find((b) => b.lang === "toml");
  assert.ok(toml, "a toml block in the Access policy section");
  const loaded = loadPolicy(toml.text, "OPERATIONS.md", Date.now());
  assert.ok(loaded.ok, loaded.ok ? "" : loaded.errors.join("\n"));
  assert.equal(loaded.tests, 4);
  const d = evaluate(
    loaded.policy,
    { identity: "eve@example.com", groups: ["engineering", "contractors"] },
    "db",
    { nowMs: Date.now() },
  );
  assert.equal(d.rule, "no-contractors-on-db");
  assert.equal(d.why, 'deny rule "no-contractors-on-db" matches group "contractors"');
});
