/**
 * Parses the arguments of `ztna admin …` into one {@link AdminCommand} (zod schemas, the single source
 * of its type) or a help text. Strict: unknown commands and flags, repeated single flags and stray
 * arguments are {@link UsageError}s with a hint, and every value (service ids, role, duration, names)
 * is checked here so the commands never start with bad input.
 * Pure: no I/O.
 * @module
 */
import { z } from "zod";
import { ServiceGrant, TokenId, TokenSubject } from "../../auth/mod.ts";
import { closestMatch } from "../../config/mod.ts";
import { subjectAltNames } from "../../pki/mod.ts";
import {
  ADMIN_HELP,
  ADMIN_TOKEN_HELP,
  DEV_CERTS_HELP,
  KEYGEN_HELP,
  TOKEN_HELP,
  TOKEN_ISSUE_HELP,
  TOKEN_REVOKE_HELP,
  TOKENS_HELP,
} from "./help.ts";
import { PERMISSIONS_HELP, PermissionsCommand } from "./permissions.ts";
import {
  POLICY_COMMAND_SPECS,
  POLICY_HELP,
  PolicyExplainCommand,
  PolicyTestCommand,
} from "./policy.ts";
import { REMOTE_COMMAND_SCHEMAS, REMOTE_COMMAND_SPECS } from "./remote_args.ts";
import { type CommandSpec, TOKEN_CLAIM_FLAGS } from "./spec.ts";
import { parseDuration } from "../duration.ts";
import { UsageError } from "../usage_error.ts";

/** Key file names: no slashes or dots up front, so `--name` cannot leave `--out`. */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const Path = z.string().min(1, "expected a path");

/** `ztna admin keygen`. */
export const KeygenCommand = z.strictObject({
  kind: z.literal("keygen"),
  out: Path,
  name: z.string().regex(KEY_NAME_PATTERN, "expected letters, digits, '.', '_' or '-' (at most 64)")
    .default("token-signing"),
  force: z.boolean().default(false),
});

/** `ztna admin token issue`. */
export const TokenIssueCommand = z.strictObject({
  kind: z.literal("token-issue"),
  signingKey: Path,
  role: z.enum(["client", "connector"], { error: "expected client or connector" }),
  /** Repeats are dropped, order kept. */
  services: z.array(ServiceGrant).min(1).max(256, "expected at most 256 services")
    .transform((list) => [...new Set(list)]),
  subject: TokenSubject,
  ttlSeconds: z.string().default("30d").transform((text, ctx) => {
    const parsed = parseDuration(text);
    if (parsed.ok) return parsed.seconds;
    ctx.addIssue({ code: "custom", message: parsed.reason });
    return z.NEVER;
  }),
  out: Path.optional(),
});

/**
 * `ztna admin token revoke`: the list is the relay's own `revocation_file`, read from its config
 * (`--config`), so the command cannot write a file the relay does not watch; `--revocation-file`
 * names it directly instead. Exactly one of the two (checked by the parser: `oneOf`).
 */
export const TokenRevokeCommand = z.strictObject({
  kind: z.literal("token-revoke"),
  id: TokenId,
  config: Path.optional(),
  revocationFile: Path.optional(),
  reason: z.string().max(200, "expected at most 200 characters").optional(),
});

/** `ztna admin dev-certs`. */
export const DevCertsCommand = z.strictObject({
  kind: z.literal("dev-certs"),
  out: Path,
  names: z.array(z.string()).default([]).superRefine((names, ctx) => {
    names.forEach((name, index) => {
      try {
        subjectAltNames([name]);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        ctx.addIssue({
          code: "custom",
          path: [index],
          message: "expected a DNS name or an IP address",
        });
      }
    });
  }),
  validDays: z.string().regex(/^\d{1,4}$/, "expected a whole number of days").optional()
    .transform((text) => (text === undefined ? undefined : Number(text)))
    .pipe(
      z.number().int().min(1, "expected at least 1 day").max(825, "expected at most 825 days")
        .optional(),
    ),
});

/** Every admin command, parsed. */
export const AdminCommand = z.discriminatedUnion("kind", [
  KeygenCommand,
  TokenIssueCommand,
  TokenRevokeCommand,
  DevCertsCommand,
  PermissionsCommand,
  PolicyTestCommand,
  PolicyExplainCommand,
  ...REMOTE_COMMAND_SCHEMAS,
]);
export type AdminCommand = z.output<typeof AdminCommand>;

/** What the command line asks for: a help text to print, or a command to run. */
export type AdminInvocation = { kind: "help"; text: string } | {
  kind: "run";
  command: AdminCommand;
};

const COMMANDS: readonly CommandSpec<AdminCommand["kind"]>[] = [
  {
    kind: "keygen",
    words: "keygen",
    help: KEYGEN_HELP,
    flags: {
      "--out": { field: "out", type: "value", required: true },
      "--name": { field: "name", type: "value" },
      "--force": { field: "force", type: "switch" },
    },
  },
  {
    kind: "token-issue",
    words: "token issue",
    help: TOKEN_ISSUE_HELP,
    flags: {
      "--signing-key": { field: "signingKey", type: "value", required: true },
      ...TOKEN_CLAIM_FLAGS,
    },
  },
  {
    kind: "token-revoke",
    words: "token revoke",
    help: TOKEN_REVOKE_HELP,
    flags: {
      "--id": { field: "id", type: "value", required: true },
      "--config": { field: "config", type: "value" },
      "--revocation-file": { field: "revocationFile", type: "value" },
      "--reason": { field: "reason", type: "value" },
    },
    oneOf: [["--config", "--revocation-file"]],
  },
  {
    kind: "dev-certs",
    words: "dev-certs",
    help: DEV_CERTS_HELP,
    flags: {
      "--out": { field: "out", type: "value", required: true },
      "--name": { field: "names", type: "list" },
      "--valid-days": { field: "validDays", type: "value" },
    },
  },
  {
    kind: "permissions",
    words: "permissions",
    help: PERMISSIONS_HELP,
    flags: {
      "--role": { field: "role", type: "value", required: true },
      "--config": { field: "config", type: "value", required: true },
    },
  },
  ...POLICY_COMMAND_SPECS,
  ...REMOTE_COMMAND_SPECS,
];

const HELP_FLAGS = ["--help", "-h"];
const TOP_WORDS = [
  "keygen",
  "token",
  "dev-certs",
  "permissions",
  "help",
  "connections",
  "services",
  "fleet",
  "tokens",
  "kick",
  "audit",
  "admin-token",
  "policy",
];

/** Two-word commands: the first word, the words that may follow, and the group's help. */
const GROUPS: Record<string, { words: readonly string[]; help: string }> = {
  token: { words: ["issue", "revoke"], help: TOKEN_HELP },
  tokens: { words: ["list", "issue", "revoke"], help: TOKENS_HELP },
  "admin-token": { words: ["create", "hash"], help: ADMIN_TOKEN_HELP },
  policy: { words: ["test", "explain"], help: POLICY_HELP },
};

/**
 * Parses the arguments after `ztna admin`.
 * @throws {UsageError} for unknown commands or flags, missing or invalid values
 */
export function parseAdminArgs(args: readonly string[]): AdminInvocation {
  const [first, second] = args;
  if (first === undefined) {
    throw new UsageError(
      "missing command; expected keygen, token issue|revoke, dev-certs, permissions, admin-token, " +
        "connections, services, fleet, tokens, kick or audit",
      {
        hint: 'run "ztna admin --help" for usage',
      },
    );
  }
  if (HELP_FLAGS.includes(first) || first === "help") return { kind: "help", text: ADMIN_HELP };
  const group = Object.hasOwn(GROUPS, first) ? GROUPS[first] : undefined;
  if (group !== undefined) {
    if (second === undefined || HELP_FLAGS.includes(second)) {
      if (second === undefined) {
        throw new UsageError(
          `missing ${first} command; expected ${
            group.words.join(", ").replace(/, (\w+)$/, " or $1")
          }`,
          { hint: `run "ztna admin ${first} --help" for usage` },
        );
      }
      return { kind: "help", text: group.help };
    }
    const spec = COMMANDS.find((c) => c.words === `${first} ${second}`);
    if (spec === undefined) throw unknownWord(second, group.words, `ztna admin ${first}`);
    return parseCommand(spec, args.slice(2));
  }
  const spec = COMMANDS.find((c) => c.words === first);
  if (spec === undefined) {
    if (first.startsWith("-")) {
      throw new UsageError(`unexpected flag "${first}" before the command`, {
        hint:
          'flags come after the command: "ztna admin <command> [flags]"; see "ztna admin --help"',
      });
    }
    throw unknownWord(first, TOP_WORDS, "ztna admin");
  }
  return parseCommand(spec, args.slice(1));
}

function unknownWord(word: string, words: readonly string[], prefix: string): UsageError {
  const near = closestMatch(word, words);
  return new UsageError(`unknown command "${prefix} ${word}"`, {
    hint: near === undefined
      ? `run "${prefix} --help" for usage`
      : `did you mean "${prefix} ${near}"?`,
  });
}

function parseCommand(
  spec: CommandSpec<AdminCommand["kind"]>,
  args: readonly string[],
): AdminInvocation {
  if (args.some((a) => HELP_FLAGS.includes(a))) return { kind: "help", text: spec.help };
  const hint = `run "ztna admin ${spec.words} --help" for usage`;
  const fields: Record<string, string | string[] | boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) {
      throw new UsageError(
        `unexpected argument "${arg}"; "ztna admin ${spec.words}" takes only flags`,
        {
          hint,
        },
      );
    }
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const flag = Object.hasOwn(spec.flags, name) ? spec.flags[name] : undefined;
    if (flag === undefined) {
      const near = closestMatch(name, [...Object.keys(spec.flags), "--help"]);
      throw new UsageError(`unknown flag "${name}" for "ztna admin ${spec.words}"`, {
        hint: near === undefined ? hint : `did you mean "${near}"?`,
      });
    }
    if (flag.type === "switch") {
      if (eq >= 0) throw new UsageError(`flag "${name}" takes no value`, { hint });
      fields[flag.field] = true;
      continue;
    }
    let value: string;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("--")) {
        throw new UsageError(`flag "${name}" needs a value`, { hint });
      }
      value = next;
      i++;
    }
    const previous = fields[flag.field];
    if (flag.type === "list") {
      fields[flag.field] = Array.isArray(previous) ? [...previous, value] : [value];
    } else if (previous !== undefined) {
      throw new UsageError(`flag "${name}" given more than once`, { hint });
    } else {
      fields[flag.field] = value;
    }
  }
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (flag.required && fields[flag.field] === undefined) {
      throw new UsageError(`missing ${name}`, { hint });
    }
  }
  for (const group of spec.oneOf ?? []) {
    const given = group.filter((name) => fields[spec.flags[name].field] !== undefined);
    if (given.length !== 1) {
      throw new UsageError(
        given.length === 0
          ? `missing ${group.join(" or ")}`
          : `give only one of ${given.join(" and ")}`,
        { hint },
      );
    }
  }
  const parsed = AdminCommand.safeParse({ kind: spec.kind, ...fields });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path[0];
    const name = Object.entries(spec.flags).find(([, f]) => f.field === field)?.[0] ??
      String(field);
    const value = valueAt(fields, issue.path);
    const got = value === undefined ? "" : ` "${value}"`;
    throw new UsageError(`invalid ${name}${got}: ${issue.message}`, { hint });
  }
  return { kind: "run", command: parsed.data };
}

/** The raw text behind an issue, when it points at one string (a list entry or a single value). */
function valueAt(
  fields: Record<string, string | string[] | boolean>,
  path: readonly PropertyKey[],
): string | undefined {
  const top = typeof path[0] === "string" ? fields[path[0]] : undefined;
  if (typeof top === "string") return top;
  if (Array.isArray(top) && typeof path[1] === "number") return top[path[1]];
  return undefined;
}
