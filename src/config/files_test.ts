/**
 * Tests of the file checks' error wording.
 * @module
 */
import assert from "node:assert/strict";
import { describeFsError, READABLE_FOLDERS } from "./files.ts";

Deno.test("describeFsError() words each file error for operators", () => {
  assert.equal(describeFsError(new Deno.errors.NotFound("x")).reason, "not found");
  assert.equal(describeFsError(new Deno.errors.PermissionDenied("x")).reason, "permission denied");
  assert.equal(
    describeFsError(new Deno.errors.IsADirectory("x")).reason,
    "is a folder, not a file",
  );
});

Deno.test("describeFsError() explains a path outside the permission set", () => {
  const { reason, hint } = describeFsError(new Deno.errors.NotCapable("Requires read access"));
  assert.ok(reason.includes(READABLE_FOLDERS));
  assert.ok(hint);
});
