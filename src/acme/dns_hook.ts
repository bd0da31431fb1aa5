/**
 * The dns-01 challenge through an operator's hook executable: it is started directly (no shell)
 * with an argv array whose every value is validated first (L4: no shell-outs with user data), as
 *
 *   <hook> present <domain> <record name> <value>   # publish the TXT record, return once served
 *   <hook> cleanup <domain> <record name> <value>   # remove it again
 *
 * e.g. `present relay.example.com _acme-challenge.relay.example.com 3l5p…Q`. The shipped permission
 * set ("ztna") has no `run` permission: running a hook needs `--allow-run=<hook path>` on top of it,
 * checked at start ({@link checkHookPermission}) so a missing grant fails at once, not at renewal.
 * @module
 */
import { ACME_DOMAIN_PATTERN } from "../config/mod.ts";
import { AcmeError } from "./acme_error.ts";

/** What the hook is asked to do. */
export type HookAction = "present" | "cleanup";

/** A dns-01 TXT value: base64url of a SHA-256 digest, 43 characters (RFC 8555 §8.4). */
const TXT_VALUE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Most stderr the hook may print that we keep for the log. */
const MAX_HOOK_OUTPUT = 2_000;

/**
 * The hook's arguments, after checking every value. Pure.
 * @throws {AcmeError} hook_failed for a domain that is no DNS name or a value that is no digest
 */
export function hookArgs(action: HookAction, domain: string, value: string): string[] {
  if (action !== "present" && action !== "cleanup") {
    throw new AcmeError("hook_failed", `Cannot run the dns-01 hook: unknown action "${action}"`);
  }
  if (!ACME_DOMAIN_PATTERN.test(domain)) {
    throw new AcmeError(
      "hook_failed",
      `Cannot run the dns-01 hook for ${JSON.stringify(domain)}: not a lowercase DNS name`,
    );
  }
  if (!TXT_VALUE_PATTERN.test(value)) {
    throw new AcmeError(
      "hook_failed",
      "Cannot run the dns-01 hook: the TXT value is not a 43-character base64url digest",
    );
  }
  // A wildcard's record sits on its base name (RFC 8555 §8.4).
  const base = domain.startsWith("*.") ? domain.slice(2) : domain;
  return [action, base, `_acme-challenge.${base}`, value];
}

/** The error for a hook the permission set may not run, naming the flag that grants it. */
export function missingRunPermission(hook: string): AcmeError {
  return new AcmeError(
    "permission_missing",
    `Cannot run the dns-01 hook ${JSON.stringify(hook)}: the permission set has no run ` +
      `permission for it; start ztna with --allow-run=${hook} next to -P=ztna ` +
      '(docs/OPERATIONS.md, "ACME certificates")',
  );
}

/**
 * Checks, without prompting, that this process may run `hook`.
 * @throws {AcmeError} permission_missing when it may not
 */
export async function checkHookPermission(hook: string): Promise<void> {
  const status = await Deno.permissions.query({ name: "run", command: hook });
  if (status.state !== "granted") throw missingRunPermission(hook);
}

/** Options of {@link runDnsHook}. */
export interface RunDnsHookOptions {
  hook: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Runs the hook once and waits for it; stdout is ignored, stderr is kept (bounded) for the error.
 * @throws {AcmeError} hook_failed (non-zero exit, timeout, cannot start), permission_missing
 */
export async function runDnsHook(
  args: readonly string[],
  options: RunDnsHookOptions,
): Promise<void> {
  const { hook, timeoutMs, signal } = options;
  const timeout = AbortSignal.timeout(timeoutMs);
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(hook, {
      args: [...args],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.any(signal ? [timeout, signal] : [timeout]),
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw missingRunPermission(hook);
    const reason = error instanceof Deno.errors.NotFound ? "not found" : String(error);
    throw new AcmeError("hook_failed", `Cannot start the dns-01 hook ${hook}: ${reason}`, {
      cause: error,
    });
  }
  if (signal?.aborted) throw new AcmeError("aborted", "Stopped while the dns-01 hook ran");
  if (output.success) return;
  const stderr = new TextDecoder().decode(output.stderr).trim().slice(-MAX_HOOK_OUTPUT);
  const why = timeout.aborted
    ? `did not finish within ${timeoutMs} ms`
    : `exited with ${output.code}`;
  throw new AcmeError(
    "hook_failed",
    `The dns-01 hook ${hook} ${args[0]} ${args[1]} ${why}${stderr ? `: ${stderr}` : ""}`,
  );
}
