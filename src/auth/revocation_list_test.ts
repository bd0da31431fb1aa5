/**
 * Tests of the revocation list format: parsing, bad lines, and entries that parse back.
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { formatRevocationEntry, parseRevocationList } from "./revocation_list.ts";

const A = "AAAAAAAAAAAAAAAAAAAAAA";
const B = "b-b_b-b_b-b_b-b_b-b_bb";

Deno.test("parseRevocationList() reads ids, comments and blank lines", () => {
  const text = `\uFEFF# ztna revocation list\n\n${A}\r\n  ${B}  # 2025-01-01 laptop stolen\n# ${
    "C".repeat(22)
  }\n${A}\n`;
  const list = parseRevocationList(text);
  assert.deepEqual([...list.ids], [A, B]);
  assert.deepEqual(list.errors, []);
});

Deno.test("parseRevocationList() reports bad lines by number and keeps the rest", () => {
  const list = parseRevocationList(`${A}\nshort\n${B}\nhas space inside it ok\n`);
  assert.deepEqual([...list.ids], [A, B]);
  assert.deepEqual(list.errors.map((e) => e.line), [2, 4]);
  assert.match(list.errors[0].problem, /"short"/);
});

Deno.test("parseRevocationList() never echoes what looks like a whole token", () => {
  const token = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl";
  const list = parseRevocationList(`${token}\n`);
  assert.equal(list.errors.length, 1);
  assert.doesNotMatch(list.errors[0].problem, /eyJ/);
});

Deno.test("parseRevocationList() of an empty file is an empty list", () => {
  assert.deepEqual(parseRevocationList(""), { ids: new Set(), errors: [] });
});

Deno.test("parseRevocationList() answers arbitrary text without throwing", () => {
  fc.assert(fc.property(fc.string({ maxLength: 2_000 }), (text) => {
    const list = parseRevocationList(text);
    for (const id of list.ids) assert.match(id, /^[A-Za-z0-9_-]{16,64}$/);
    for (const e of list.errors) assert.ok(e.line >= 1);
  }));
});

Deno.test("formatRevocationEntry() writes a line that parses back", async (t) => {
  await t.step("without a reason", () => {
    assert.equal(formatRevocationEntry(A), `${A}\n`);
  });
  await t.step("with a reason as a comment", () => {
    assert.equal(formatRevocationEntry(A, "laptop stolen"), `${A}  # laptop stolen\n`);
  });
  await t.step("a reason cannot start a new line", () => {
    const line = formatRevocationEntry(A, `oops\n${B}\r\n# x`);
    assert.equal(line.split("\n").length, 2);
    assert.deepEqual([...parseRevocationList(line).ids], [A]);
  });
  await t.step("a long reason is capped", () => {
    assert.ok(formatRevocationEntry(A, "x".repeat(1_000)).length < 260);
  });
  await t.step("round trip of arbitrary reasons", () => {
    fc.assert(fc.property(fc.string(), (reason) => {
      const list = parseRevocationList(formatRevocationEntry(B, reason));
      assert.deepEqual([...list.ids], [B]);
      assert.deepEqual(list.errors, []);
    }));
  });
  await t.step("refuses what is not a token id", () => {
    assert.throws(() => formatRevocationEntry("short"), RangeError);
    assert.throws(() => formatRevocationEntry(`${A}\n${B}`), RangeError);
  });
});
