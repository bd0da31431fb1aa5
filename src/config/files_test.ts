/**
 * Tests of the file checks' error wording.
 * @module
 */
import assert from "node:assert/strict";
import { describeFsError } from "./fs_errors.ts";
import { READABLE_FOLDERS, WRITABLE_FOLDERS } from "./permission_set.ts";

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

Deno.test("describeFsError() words a write outside the set with the writable folders", () => {
  const denied = new Deno.errors.NotCapable("Requires write access to /x");
  assert.ok(describeFsError(denied).reason.includes(WRITABLE_FOLDERS));
  assert.ok(
    describeFsError(new Deno.errors.NotCapable("x"), "write").reason.includes(WRITABLE_FOLDERS),
  );
  assert.equal(
    describeFsError(new Deno.errors.AlreadyExists("x")).hint,
    "pass --force to replace it",
  );
});
