/**
 * The `ztna admin` commands that call a running relay's admin endpoint (`connections`, `services`,
 * `fleet`, `tokens list|issue|revoke`, `kick`, `audit`) and the local admin-token helpers (`admin-token
 * create|hash`): their zod schemas and flag specs, merged into the parser by admin_args.ts.
 * Pure: no I/O.
 * @module
 */
import { z } from "zod";
import { ServiceGrant, TokenId, TokenSubject } from "../../auth/mod.ts";
import {
  ADMIN_TOKEN_CREATE_HELP,
  ADMIN_TOKEN_HASH_HELP,
  AUDIT_HELP,
  CONNECTIONS_HELP,
  FLEET_HELP,
  KICK_HELP,
  SERVICES_HELP,
  TOKENS_ISSUE_HELP,
  TOKENS_LIST_HELP,
  TOKENS_REVOKE_HELP,
} from "./help.ts";
import { type CommandSpec, type FlagSpec, TOKEN_CLAIM_FLAGS } from "./spec.ts";
import { parseDuration } from "../duration.ts";

/** Where `ztna admin` finds the admin endpoint unless `--url` says otherwise. */
export const DEFAULT_ADMIN_URL = "http://127.0.0.1:4434";

const Path = z.string().min(1, "expected a path");

/** Flags every remote command takes. */
const Remote = {
  url: z.string().default(DEFAULT_ADMIN_URL).superRefine((text, ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch { /* reported below */ }
    if (url === undefined || !["http:", "https:"].includes(url.protocol) || url.pathname !== "/") {
      ctx.addIssue({ code: "custom", message: "expected http(s)://host:port" });
    }
  }),
  adminTokenFile: Path,
  ca: Path.optional(),
  json: z.boolean().default(false),
};

const REMOTE_FLAGS: Record<string, FlagSpec> = {
  "--url": { field: "url", type: "value" },
  "--admin-token-file": { field: "adminTokenFile", type: "value", required: true },
  "--ca": { field: "ca", type: "value" },
  "--json": { field: "json", type: "switch" },
};

const Limit = z.string().regex(/^\d{1,3}$/, "expected a whole number from 1 to 500").default("50")
  .transform(Number).pipe(z.number().int().min(1, "expected at least 1").max(500));

const Ttl = z.string().default("30d").transform((text, ctx) => {
  const parsed = parseDuration(text);
  if (parsed.ok) return parsed.seconds;
  ctx.addIssue({ code: "custom", message: parsed.reason });
  return z.NEVER;
});

/** `ztna admin connections`. */
export const ConnectionsCommand = z.strictObject({
  kind: z.literal("connections"),
  ...Remote,
});

/** `ztna admin services`. */
export const ServicesCommand = z.strictObject({ kind: z.literal("services"), ...Remote });

/** `ztna admin fleet`. */
export const FleetCommand = z.strictObject({ kind: z.literal("fleet"), ...Remote });

/** `ztna admin tokens list`. */
export const TokensListCommand = z.strictObject({
  kind: z.literal("tokens-list"),
  ...Remote,
  limit: Limit,
});

/** `ztna admin tokens issue`. */
export const TokensIssueCommand = z.strictObject({
  kind: z.literal("tokens-issue"),
  ...Remote,
  role: z.enum(["client", "connector"], { error: "expected client or connector" }),
  services: z.array(ServiceGrant).min(1).max(256, "expected at most 256 services")
    .transform((list) => [...new Set(list)]),
  subject: TokenSubject,
  ttlSeconds: Ttl,
  out: Path.optional(),
});

/** `ztna admin tokens revoke`. */
export const TokensRevokeCommand = z.strictObject({
  kind: z.literal("tokens-revoke"),
  ...Remote,
  id: TokenId,
  reason: z.string().max(200, "expected at most 200 characters").optional(),
});

/** `ztna admin kick`. */
export const KickCommand = z.strictObject({
  kind: z.literal("kick"),
  ...Remote,
  conn: z.string().regex(/^[0-9a-f]{8}$/, "expected a connection id (8 hex digits)"),
});

/** `ztna admin audit`. */
export const AuditCommand = z.strictObject({ kind: z.literal("audit"), ...Remote, limit: Limit });

/** `ztna admin admin-token create` (local: prints a new admin token and its hash). */
export const AdminTokenCreateCommand = z.strictObject({
  kind: z.literal("admin-token-create"),
  out: Path.optional(),
});

/** `ztna admin admin-token hash` (local: the hash of an existing admin token). */
export const AdminTokenHashCommand = z.strictObject({
  kind: z.literal("admin-token-hash"),
  tokenFile: Path,
});

/** The schemas, for the union in admin_args.ts. */
export const REMOTE_COMMAND_SCHEMAS = [
  ConnectionsCommand,
  ServicesCommand,
  FleetCommand,
  TokensListCommand,
  TokensIssueCommand,
  TokensRevokeCommand,
  KickCommand,
  AuditCommand,
  AdminTokenCreateCommand,
  AdminTokenHashCommand,
] as const;

/** A parsed remote or admin-token command. */
export type RemoteCommand = z.output<(typeof REMOTE_COMMAND_SCHEMAS)[number]>;

/** The flag specs of these commands. */
export const REMOTE_COMMAND_SPECS: readonly CommandSpec<RemoteCommand["kind"]>[] = [
  { kind: "connections", words: "connections", help: CONNECTIONS_HELP, flags: REMOTE_FLAGS },
  { kind: "services", words: "services", help: SERVICES_HELP, flags: REMOTE_FLAGS },
  { kind: "fleet", words: "fleet", help: FLEET_HELP, flags: REMOTE_FLAGS },
  {
    kind: "tokens-list",
    words: "tokens list",
    help: TOKENS_LIST_HELP,
    flags: { ...REMOTE_FLAGS, "--limit": { field: "limit", type: "value" } },
  },
  {
    kind: "tokens-issue",
    words: "tokens issue",
    help: TOKENS_ISSUE_HELP,
    flags: {
      ...REMOTE_FLAGS,
      ...TOKEN_CLAIM_FLAGS,
    },
  },
  {
    kind: "tokens-revoke",
    words: "tokens revoke",
    help: TOKENS_REVOKE_HELP,
    flags: {
      ...REMOTE_FLAGS,
      "--id": { field: "id", type: "value", required: true },
      "--reason": { field: "reason", type: "value" },
    },
  },
  {
    kind: "kick",
    words: "kick",
    help: KICK_HELP,
    flags: { ...REMOTE_FLAGS, "--conn": { field: "conn", type: "value", required: true } },
  },
  {
    kind: "audit",
    words: "audit",
    help: AUDIT_HELP,
    flags: { ...REMOTE_FLAGS, "--limit": { field: "limit", type: "value" } },
  },
  {
    kind: "admin-token-create",
    words: "admin-token create",
    help: ADMIN_TOKEN_CREATE_HELP,
    flags: { "--out": { field: "out", type: "value" } },
  },
  {
    kind: "admin-token-hash",
    words: "admin-token hash",
    help: ADMIN_TOKEN_HASH_HELP,
    flags: { "--token-file": { field: "tokenFile", type: "value", required: true } },
  },
];

const REMOTE_KINDS: ReadonlySet<string> = new Set(REMOTE_COMMAND_SPECS.map((c) => c.kind));

/** True for the commands of this file (run by admin_remote.ts, not admin_commands.ts). */
export function isRemoteCommand(command: { kind: string }): command is RemoteCommand {
  return REMOTE_KINDS.has(command.kind);
}
