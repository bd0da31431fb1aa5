/**
 * Tests of the "did you mean" matcher.
 * @module
 */
import assert from "node:assert/strict";
import { closestMatch, editDistance } from "./closest.ts";

Deno.test("editDistance() counts insertions, deletions and substitutions", () => {
  assert.equal(editDistance("", ""), 0);
  assert.equal(editDistance("listen", "listen"), 0);
  assert.equal(editDistance("lsten", "listen"), 1);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("", "abc"), 3);
});

Deno.test("closestMatch() suggests a near word and nothing for a far one", () => {
  assert.equal(closestMatch("--confg", ["--role", "--config", "--help"]), "--config");
  assert.equal(closestMatch("lsten", ["listen", "cert", "key"]), "listen");
  assert.equal(closestMatch("Listen", ["listen"]), "listen");
  assert.equal(closestMatch("relay", ["intermediate", "connector", "client"]), undefined);
  assert.equal(closestMatch("ab", ["cd"]), undefined);
  assert.equal(closestMatch("x", []), undefined);
});
