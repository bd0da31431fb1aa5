/**
 * How an admin command is described for the parser: its words, help text and flags, each flag
 * mapped to a field of the command's zod schema. Shared by the local commands (admin_args.ts) and
 * the commands that call a relay's admin endpoint (admin_remote_args.ts). Pure: types and tables.
 * @module
 */

/** How one flag maps to a field of the command. */
export interface FlagSpec {
  field: string;
  /** `value` takes one argument, `list` may repeat, `switch` takes none. */
  type: "value" | "list" | "switch";
  required?: boolean;
}

/** One command: `words` after `ztna admin`, e.g. `tokens issue`. */
export interface CommandSpec<K extends string = string> {
  kind: K;
  words: string;
  help: string;
  flags: Record<string, FlagSpec>;
  /** Groups of flags of which exactly one must be given. */
  oneOf?: readonly (readonly string[])[];
}

/** The claims of a new token, the same flags whether signed locally or by a relay's endpoint. */
export const TOKEN_CLAIM_FLAGS: Record<string, FlagSpec> = {
  "--role": { field: "role", type: "value", required: true },
  "--service": { field: "services", type: "list", required: true },
  "--subject": { field: "subject", type: "value", required: true },
  "--ttl": { field: "ttlSeconds", type: "value" },
  "--out": { field: "out", type: "value" },
};
