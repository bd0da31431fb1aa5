/**
 * The one wording of file-system errors for operators: what went wrong with a path, and the fix when
 * there is one (the permission set's folders, taken from deno.json, for NotCapable).
 * @module
 */
import { READABLE_FOLDERS, WRITABLE_FOLDERS } from "./permission_set.ts";

/** A failed file operation, worded: `reason` follows the path; `hint` says what to do, if known. */
export interface FsProblem {
  reason: string;
  hint?: string;
}

/** Whether the operation read or wrote; NotCapable's wording depends on it. */
export type FsAccess = "read" | "write";

/** True for the errors {@link describeFsError} words (anything else is not a file problem). */
export function isFsError(error: unknown): boolean {
  return [
    Deno.errors.NotFound,
    Deno.errors.AlreadyExists,
    Deno.errors.PermissionDenied,
    Deno.errors.IsADirectory,
    Deno.errors.NotADirectory,
    Deno.errors.NotCapable,
  ].some((kind) => error instanceof kind);
}

/**
 * Words `error` for an operator. `access` picks the NotCapable wording; without it, Deno's own
 * message ("Requires write access …") decides.
 */
export function describeFsError(error: unknown, access?: FsAccess): FsProblem {
  if (error instanceof Deno.errors.NotFound) return { reason: "not found" };
  if (error instanceof Deno.errors.AlreadyExists) {
    return { reason: "already exists", hint: "pass --force to replace it" };
  }
  if (error instanceof Deno.errors.PermissionDenied) return { reason: "permission denied" };
  if (error instanceof Deno.errors.IsADirectory) return { reason: "is a folder, not a file" };
  if (error instanceof Deno.errors.NotADirectory) {
    return { reason: "a part of the path is not a folder" };
  }
  if (error instanceof Deno.errors.NotCapable) {
    const writing = access ? access === "write" : /write access/.test(error.message);
    return writing
      ? {
        reason:
          `outside the ztna permission set, which only allows writing under ${WRITABLE_FOLDERS}`,
        hint: "keys, certificates and tokens belong in /etc/ztna, state in /var/lib/ztna " +
          "(intermediate.state_dir)",
      }
      : {
        reason:
          `outside the ztna permission set, which only allows reading under ${READABLE_FOLDERS}`,
        hint: "move the file into /etc/ztna (configs, keys, certificates, tokens) or " +
          "/var/lib/ztna (state); a client without root can pass its config on stdin " +
          '(--config -) and its token in ZTNA_TOKEN (docs/OPERATIONS.md, "Files and permissions")',
      };
  }
  return { reason: error instanceof Error ? error.message : String(error) };
}
