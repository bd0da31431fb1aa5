/**
 * What each `ztna admin` command does once its arguments are parsed: keygen, token issue, token
 * revoke, dev-certs. Each reads and writes files, prints results through {@link AdminIo} and
 * returns an exit status; expected failures are {@link AdminFailure}s with a message for the user.
 * Tokens are printed only by `token issue` on stdout, keys never.
 * @module
 */
import {
  formatRevocationEntry,
  generateSigningKeyPair,
  importPrivateKey,
  issueToken,
  parseRevocationList,
} from "../../auth/mod.ts";
import { resolve } from "node:path";
import {
  ConfigError,
  describeFsError,
  isFsError,
  parseConfigText,
  readConfigText,
} from "../../config/mod.ts";
import { resolveIntermediatePaths } from "../../config/paths.ts";
import { generateDevPki, writeFileAtomic } from "../../pki/mod.ts";
import type { AdminCommand } from "./args.ts";
import type { RemoteCommand } from "./remote_args.ts";
import { formatSeconds } from "../duration.ts";
import { permissions } from "./permissions.ts";
import { runPolicyCommand } from "./policy.ts";
import { revokeInStore, StoreUnavailableError } from "./store_revoke.ts";
import type { PostgresStoreConfig } from "../../config/schema.ts";

/** Where the admin commands print: results to `out` (stdout), notes and errors to `err` (stderr). */
export interface AdminIo {
  out(line: string): void;
  err(line: string): void;
}

/** Clock for the admin commands, replaced in tests. */
export interface AdminDeps {
  io: AdminIo;
  /** @default {Date.now} */
  now: () => number;
}

/** An expected failure (file exists, unreadable key…); runAdmin prints the message and exits 1. */
export class AdminFailure extends Error {
  override readonly name = "AdminFailure";
  readonly hint: string | undefined;
  constructor(message: string, options: ErrorOptions & { hint?: string } = {}) {
    super(message, options);
    this.hint = options.hint;
  }
}

export { WRITABLE_FOLDERS } from "../../config/mod.ts";

type Of<K extends LocalCommand["kind"]> = Extract<LocalCommand, { kind: K }>;

/** The commands that work on local files only (the others call a relay: admin_remote.ts). */
export type LocalCommand = Exclude<AdminCommand, RemoteCommand>;

/** Runs one parsed command; resolves with the exit status. */
export function runAdminCommand(command: LocalCommand, deps: AdminDeps): Promise<number> {
  switch (command.kind) {
    case "keygen":
      return keygen(command, deps);
    case "token-issue":
      return tokenIssue(command, deps);
    case "token-revoke":
      return tokenRevoke(command, deps);
    case "dev-certs":
      return devCerts(command, deps);
    case "permissions":
      return permissions(command, deps);
    case "policy-test":
    case "policy-explain":
      return runPolicyCommand(command, deps);
  }
}

async function keygen(command: Of<"keygen">, { io }: AdminDeps): Promise<number> {
  const keyPath = `${command.out}/${command.name}.key`;
  const pubPath = `${command.out}/${command.name}.pub`;
  await fsStep("create folder", command.out, () => Deno.mkdir(command.out, { recursive: true }));
  if (!command.force) {
    for (const path of [keyPath, pubPath]) {
      if (await exists(path)) {
        throw new AdminFailure(`Cannot write key: "${path}" already exists`, {
          hint: "pass --force to replace it; tokens signed by the old key then stop verifying",
        });
      }
    }
  }
  const pair = await generateSigningKeyPair();
  const ifExists = command.force ? "replace" : "fail";
  await fsStep(
    "write",
    keyPath,
    () => writeFileAtomic(keyPath, pair.privatePem, { mode: 0o600, ifExists }),
  );
  await fsStep(
    "write",
    pubPath,
    () => writeFileAtomic(pubPath, pair.publicPem, { mode: 0o644, ifExists }),
  );
  io.out(`kid ${pair.kid}`);
  io.out(`private key ${keyPath}`);
  io.out(`public key ${pubPath}`);
  io.err(`give relays ${pubPath} (token_public_keys); keep ${keyPath} secret`);
  return 0;
}

async function tokenIssue(command: Of<"token-issue">, { io, now }: AdminDeps): Promise<number> {
  const pem = await fsStep(
    "read signing key",
    command.signingKey,
    () => Deno.readTextFile(command.signingKey),
  );
  const key = await importPrivateKey(pem, command.signingKey);
  const issued = await issueToken(key, {
    subject: command.subject,
    role: command.role,
    services: command.services,
    ttlSeconds: command.ttlSeconds,
  }, { nowMs: now() });
  const { out } = command;
  if (out === undefined) {
    io.out(issued.token);
  } else {
    await fsStep("write", out, () => writeFileAtomic(out, `${issued.token}\n`, { mode: 0o600 }));
    io.out(issued.tokenId);
  }
  const expires = new Date(issued.expiresAtMs).toISOString();
  io.err(
    `issued token ${issued.tokenId} for ${command.subject} (role ${command.role}, services ${
      command.services.join(",")
    }, expires ${expires}, ttl ${formatSeconds(command.ttlSeconds)}, key ${key.kid})`,
  );
  return 0;
}

/**
 * Where `token revoke --config` writes: the relay's shared store when it is PostgreSQL (every relay
 * of the fleet hears it), else the relay's revocation file as the relay resolves it (against its
 * config file's folder).
 * @throws {AdminFailure} when the config cannot be read, is invalid or names no revocation_file
 */
async function relayRevocationTarget(
  configPath: string,
): Promise<{ kind: "file"; path: string } | { kind: "store"; store: PostgresStoreConfig }> {
  let file;
  try {
    file = parseConfigText(configPath, await readConfigText(configPath));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new AdminFailure(error.message, {
      cause: error,
      ...(error.hint === undefined ? {} : { hint: error.hint }),
    });
  }
  if (file.intermediate === undefined) {
    throw new AdminFailure(`${configPath}: has no [intermediate] section`, {
      hint: "pass the relay's config file",
    });
  }
  const base = resolve(configPath, "..");
  const relay = resolveIntermediatePaths(file.intermediate, base);
  if (relay.store.kind === "postgres") return { kind: "store", store: relay.store };
  if (relay.revocation_file === undefined) {
    throw new AdminFailure(
      `${configPath}: intermediate.revocation_file is not set, so the relay reads no revocation file`,
      {
        hint: 'set revocation_file = "/var/lib/ztna/revoked-tokens.txt" and restart the relay, ' +
          'or revoke through the admin endpoint: "ztna admin tokens revoke"',
      },
    );
  }
  return { kind: "file", path: relay.revocation_file };
}

async function tokenRevoke(command: Of<"token-revoke">, { io, now }: AdminDeps): Promise<number> {
  // Absolute, so the output says exactly which file changed (a relative path here once meant a
  // different file than the relay's, which resolves against its config folder).
  const target = command.config !== undefined
    ? await relayRevocationTarget(command.config)
    : { kind: "file" as const, path: resolve(command.revocationFile ?? "") };
  if (target.kind === "store") {
    try {
      return await revokeInStore(target.store, command, io, now());
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      throw new AdminFailure(error.message, {
        cause: error,
        hint: "the relay's store is PostgreSQL: this command needs the database (URL, password " +
          "file or ZTNA_DB_PASSWORD, CA) as the relay has it",
      });
    }
  }
  const path = target.path;
  const existing = await fsStep("read", path, () => readIfPresent(path));
  if (existing !== undefined && parseRevocationList(existing).ids.has(command.id)) {
    io.out(`token ${command.id} is already revoked in ${path}`);
    return 0;
  }
  const stamp = new Date(now()).toISOString();
  const entry = formatRevocationEntry(
    command.id,
    [stamp, command.reason].filter(Boolean).join(" "),
  );
  const prefix = existing === undefined || existing === ""
    ? "# ztna revocation list: one token id per line; '#' starts a comment\n"
    : existing.endsWith("\n")
    ? ""
    : "\n";
  const folder = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  if (folder !== "") {
    await fsStep("create folder", folder, () => Deno.mkdir(folder, { recursive: true }));
  }
  // Appending keeps concurrent revocations; a relay reading mid-write skips the partial line once.
  await fsStep(
    "write",
    path,
    () => Deno.writeTextFile(path, prefix + entry, { append: true, create: true, mode: 0o644 }),
  );
  io.out(`revoked token ${command.id} in ${path}`);
  io.err(
    command.config !== undefined
      ? `the relay re-reads ${path} within its revocation_poll_ms (default 2 s) and closes ` +
        "that token's connections"
      : `only a relay whose intermediate.revocation_file is ${path} sees this; ` +
        '"--config <relay.toml>" uses the relay\'s own file',
  );
  return 0;
}

async function devCerts(command: Of<"dev-certs">, { io, now }: AdminDeps): Promise<number> {
  const pki = await fsStep("write certificates to", command.out, () =>
    generateDevPki({
      outDir: command.out,
      names: command.names,
      nowMs: now(),
      ...(command.validDays === undefined ? {} : { validDays: command.validDays }),
    }));
  if (pki.caReplacedBecause !== undefined) {
    io.err(`ztna admin: made a new dev CA because ${pki.caReplacedBecause}`);
    io.err("ztna admin: clients and connectors must now trust the new ca.crt");
  }
  io.out(`ca certificate ${pki.caCertPath} (${pki.caReused ? "kept" : "new"})`);
  io.out(`ca key ${pki.caKeyPath}`);
  io.out(
    `relay certificate ${pki.certPath} (${
      pki.names.join(", ")
    }; expires ${pki.notAfter.toISOString()})`,
  );
  io.out(`relay key ${pki.keyPath}`);
  io.err(`give clients and connectors: ca = "${pki.caCertPath}"`);
  return 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Runs a file operation; turns file-system errors into an {@link AdminFailure} naming the path. */
async function fsStep<T>(action: string, path: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!isFsError(error)) throw error;
    const described = describeFsError(error);
    throw new AdminFailure(`Cannot ${action} "${path}": ${described.reason}`, {
      cause: error,
      ...(described.hint === undefined ? {} : { hint: described.hint }),
    });
  }
}
