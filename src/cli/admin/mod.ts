/**
 * `ztna admin …`: keys, tokens and certificates, and calls to a relay's admin endpoint, run from the
 * same binary (main.ts hands over the arguments after `admin`). Parses with {@link parseAdminArgs},
 * runs the command, and turns every expected failure into `ztna admin: <message>` on stderr and an
 * exit status: 0 done, 1 failed, 2 wrong command line. Printing with console.* is allowed here: this is a CLI front end.
 * @module
 */
import { SigningKeyError } from "../../auth/mod.ts";
import { CertificateError } from "../../pki/mod.ts";
import { type AdminInvocation, parseAdminArgs } from "./args.ts";
import { AdminFailure, type AdminIo, runAdminCommand } from "./commands.ts";
import { runRemoteCommand } from "./remote.ts";
import { isRemoteCommand } from "./remote_args.ts";
import { UsageError } from "../usage_error.ts";

export type { AdminIo } from "./commands.ts";

/** Exit statuses of `ztna admin`, as main.ts uses them. */
export const ADMIN_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Options of {@link runAdmin}, replaced in tests. */
export interface RunAdminOptions {
  /** Output lines. @default {console.log and console.error} */
  io?: AdminIo;
  /** Clock. @default {Date.now} */
  now?: () => number;
}

const CONSOLE_IO: AdminIo = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
};

/**
 * Runs `ztna admin <args>` and resolves with the exit status; errors that are not the user's
 * (bugs) are rethrown for main.ts.
 */
export async function runAdmin(args: string[], options: RunAdminOptions = {}): Promise<number> {
  const { io = CONSOLE_IO, now = Date.now } = options;
  let invocation: AdminInvocation;
  try {
    invocation = parseAdminArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    report(io, error.message, error.hint);
    return ADMIN_EXIT.usage;
  }
  if (invocation.kind === "help") {
    io.out(invocation.text.trimEnd());
    return ADMIN_EXIT.ok;
  }
  try {
    const command = invocation.command;
    return await (isRemoteCommand(command)
      ? runRemoteCommand(command, { io, now })
      : runAdminCommand(command, { io, now }));
  } catch (error) {
    if (error instanceof AdminFailure) {
      report(io, error.message, error.hint);
    } else if (
      error instanceof SigningKeyError || error instanceof CertificateError ||
      error instanceof RangeError
    ) {
      report(io, error.message);
    } else {
      throw error;
    }
    return ADMIN_EXIT.failed;
  }
}

function report(io: AdminIo, message: string, hint?: string): void {
  io.err(`ztna admin: ${message}`);
  if (hint !== undefined) io.err(`ztna admin: hint: ${hint}`);
}
