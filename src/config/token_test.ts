/**
 * Tests of the token's source and shape check.
 * @module
 */
import assert from "node:assert/strict";
import { looksLikeToken } from "./token.ts";

Deno.test("looksLikeToken() accepts a compact JWS shape only", () => {
  assert.ok(looksLikeToken("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln-_"));
  for (const bad of ["", "a.b", "a.b.c.d", "a..c", "a.b.c\n", "a b.c.d", "a.b.c=", '{"k":1}']) {
    assert.equal(looksLikeToken(bad), false, bad);
  }
});
