/**
 * The error for a wrong command line: main.ts prints `ztna: <message>` and the hint, exits with 2.
 * Pure: no I/O.
 * @module
 */

/** A command-line mistake; `hint` is an optional second line saying what to do. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly hint: string | undefined;

  constructor(message: string, options: ErrorOptions & { hint?: string } = {}) {
    super(message, options);
    this.hint = options.hint;
  }
}
