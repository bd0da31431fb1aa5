/**
 * Loads the config for one role: read the TOML file, validate it with the zod schema, require the
 * role's section, resolve relative paths against the file's folder, check the files the role needs,
 * apply ZTNA_* overrides and find the token. Every failure is a one-line {@link ConfigError}.
 * @module
 */
import { dirname, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import { ConfigError } from "./config_error.ts";
import { applyLogEnv, type Env, envValue } from "./env.ts";
import { checkOptionalFile, checkPemFile, type FileKey, readNeededFile } from "./files.ts";
import { describeFsError } from "./fs_errors.ts";
import { configErrorMap, issuesToError } from "./issues.ts";
import { resolveDialerPaths, resolveIntermediatePaths } from "./paths.ts";
import {
  type ClientConfig,
  ConfigFile,
  type ConfigFileConfig,
  type ConnectorConfig,
  type IntermediateConfig,
  type LogConfig,
  Role,
} from "./schema.ts";
import { resolveToken } from "./token.ts";
import { applyProxyEnv, resolveProxyCredentials } from "./proxy_settings.ts";
import {
  exposedEndpoint,
  resolveEndpointCredentials,
  resolveEndpointPath,
} from "./endpoint_credentials.ts";

/** What a role runner needs, with every path absolute and the `[log]` section env-overridden. */
export type LoadedConfig =
  | { role: "intermediate"; log: LogConfig; config: IntermediateConfig }
  | { role: "connector"; log: LogConfig; config: ConnectorConfig; token: string }
  | { role: "client"; log: LogConfig; config: ClientConfig; token: string };

/**
 * Reads the config file at `path` and returns the validated section of `role`.
 * @param path the config file as given on the command line; relative to the working folder
 * @param env the ZTNA_* variables (ZTNA_LOG_LEVEL, ZTNA_LOG_FORMAT, ZTNA_TOKEN)
 * @throws {ConfigError} for every mistake: unreadable file, invalid TOML, schema violation,
 *   missing section, missing or malformed file the role needs, missing token
 */
export async function loadRoleConfig(path: string, role: Role, env: Env): Promise<LoadedConfig> {
  const label = path === STDIN ? STDIN_LABEL : path;
  const file = parseConfigText(label, await readConfigText(path));
  const log = applyLogEnv(file.log, env);
  // A config on stdin has no folder: its relative paths mean the working folder's.
  const base = path === STDIN ? resolve(".") : dirname(resolve(path));
  const where = (keyPath: string) => ({ file: label, keyPath });
  switch (role) {
    case "intermediate": {
      const config = resolveIntermediatePaths(file.intermediate ?? missing(path, file, role), base);
      // Every file is checked before anything is reported: one run lists all of them.
      const problems = new Problems();
      await checkIntermediateFiles(config, where, env, problems);
      problems.throwIfAny();
      return { role, log, config };
    }
    case "connector": {
      const config = applyProxyEnv(
        resolveDialerPaths(file.connector ?? missing(path, file, role), base),
        env,
      );
      const problems = new Problems();
      if (config.ca !== undefined) {
        await problems.check(checkPemFile(where("connector.ca"), config.ca));
      }
      const token = await problems.check(resolveToken(where("connector.token_file"), {
        tokenFile: config.token_file,
        env,
      }));
      await problems.check(resolveProxyCredentials(where("connector.proxy_credentials_file"), {
        file: config.proxy_credentials_file,
        env,
      }));
      problems.throwIfAny();
      return { role, log, config, token: token ?? "" };
    }
    case "client": {
      const config = resolveEndpointPath(
        applyProxyEnv(resolveDialerPaths(file.client ?? missing(path, file, role), base), env),
        base,
      );
      const problems = new Problems();
      if (config.ca !== undefined) {
        await problems.check(checkPemFile(where("client.ca"), config.ca));
      }
      // A client that logs in gets its token from the relay after the login, not from a file.
      const token = config.login ? "" : await problems.check(
        resolveToken(where("client.token_file"), { tokenFile: config.token_file, env }),
      );
      await problems.check(resolveProxyCredentials(where("client.proxy_credentials_file"), {
        file: config.proxy_credentials_file,
        env,
      }));
      await problems.check(checkEndpoints(config, label, env));
      problems.throwIfAny();
      return { role, log, config, token: token ?? "" };
    }
  }
}

/** Checks every file `[intermediate]` names (and the database password's source) into `problems`. */
async function checkIntermediateFiles(
  config: IntermediateConfig,
  where: (keyPath: string) => { file: string; keyPath: string },
  env: Env,
  problems: Problems,
): Promise<void> {
  // The schema requires cert and key unless ACME obtains the certificate.
  if (config.cert !== undefined) {
    await problems.check(checkPemFile(where("intermediate.cert"), config.cert));
  }
  if (config.key !== undefined) {
    await problems.check(checkPemFile(where("intermediate.key"), config.key));
  }
  if (config.acme.enabled && config.acme.ca_bundle !== undefined) {
    await problems.check(
      checkPemFile(where("intermediate.acme.ca_bundle"), config.acme.ca_bundle),
    );
  }
  if (config.acme.enabled && config.acme.dns_hook !== undefined) {
    await problems.check(
      checkExecutable(where("intermediate.acme.dns_hook"), config.acme.dns_hook),
    );
  }
  for (const [i, key] of config.token_public_keys.entries()) {
    await problems.check(checkPemFile(where(`intermediate.token_public_keys[${i}]`), key));
  }
  if (config.revocation_file !== undefined) {
    await problems.check(
      checkOptionalFile(where("intermediate.revocation_file"), config.revocation_file),
    );
  }
  if (config.policy_file !== undefined) {
    // Its content is checked by the relay as it loads it (src/policy): here only that it reads.
    await problems.check(readNeededFile(where("intermediate.policy_file"), config.policy_file));
  }
  if (config.store.kind === "postgres") {
    await checkDatabaseFiles(config.store, where, env, problems);
  }
  const admin = config.admin;
  if (config.oidc !== undefined) {
    const key = config.oidc.signing_key ?? admin.token_signing_key;
    if (key === undefined) {
      problems.add(
        new ConfigError({
          ...where("intermediate.oidc.signing_key"),
          problem: "expected a signing key: the relay signs the token it gives after a login " +
            "(set oidc.signing_key, or [intermediate.admin] token_signing_key)",
        }),
      );
    } else await problems.check(checkPemFile(where("intermediate.oidc.signing_key"), key));
    if (config.oidc.ca !== undefined) {
      await problems.check(checkPemFile(where("intermediate.oidc.ca"), config.oidc.ca));
    }
  }
  if (admin.enabled && admin.token_signing_key !== undefined) {
    await problems.check(
      checkPemFile(where("intermediate.admin.token_signing_key"), admin.token_signing_key),
    );
  }
  if (admin.enabled && admin.token_hashes_file !== undefined) {
    await problems.check(checkOptionalFile(
      where("intermediate.admin.token_hashes_file"),
      admin.token_hashes_file,
    ));
  }
}

/** Checks the PostgreSQL store's password source and CA file into `problems`. */
async function checkDatabaseFiles(
  store: Extract<IntermediateConfig["store"], { kind: "postgres" }>,
  where: (keyPath: string) => { file: string; keyPath: string },
  env: Env,
  problems: Problems,
): Promise<void> {
  if (store.password_file !== undefined) {
    await problems.check(
      readNeededFile(where("intermediate.store.password_file"), store.password_file),
    );
  } else if (envValue(env, "ZTNA_DB_PASSWORD") === undefined) {
    problems.add(
      new ConfigError({
        ...where("intermediate.store.password_file"),
        problem: "expected the database password: set password_file, or ZTNA_DB_PASSWORD",
      }),
    );
  }
  if (store.ca !== undefined) {
    await problems.check(checkPemFile(where("intermediate.store.ca"), store.ca));
  }
}

/** Collects the config errors of several checks, so one run reports all of them. */
class Problems {
  readonly #errors: ConfigError[] = [];

  /** Awaits a check; a ConfigError is kept (and undefined returned), anything else rethrown. */
  async check<T>(pending: Promise<T>): Promise<T | undefined> {
    try {
      return await pending;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.#errors.push(error, ...error.more);
      return undefined;
    }
  }

  /** Keeps a problem found without a check. */
  add(error: ConfigError): void {
    this.#errors.push(error);
  }

  /** @throws {ConfigError} the first problem, the others in `more`, the first hint given */
  throwIfAny(): void {
    const [first, ...more] = this.#errors;
    if (first === undefined) return;
    const hint = this.#errors.find((e) => e.hint !== undefined)?.hint;
    throw new ConfigError({
      file: first.file,
      ...(first.keyPath === undefined ? {} : { keyPath: first.keyPath }),
      problem: first.problem,
      ...(hint === undefined ? {} : { hint }),
      more,
    });
  }
}

/**
 * Checks the dns-01 hook is an executable file, when the permission set lets us look at it (the
 * hook may live outside the readable folders; then running it is the first check).
 * @throws {ConfigError} when it is missing, a folder or not executable
 */
async function checkExecutable(where: FileKey, path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return;
    const { reason, hint } = describeFsError(error);
    throw new ConfigError({
      ...where,
      problem: `cannot use ${JSON.stringify(path)} (${reason})`,
      hint,
    });
  }
  const executable = info.mode === null || (info.mode & 0o111) !== 0;
  if (!info.isFile || !executable) {
    throw new ConfigError({
      ...where,
      problem: `${JSON.stringify(path)} is not an executable file`,
      hint: `chmod +x ${path}`,
    });
  }
}

/** `--config -`: the config comes on standard input. */
export const STDIN = "-";
const STDIN_LABEL = "<stdin>";

/** Longest config accepted on stdin; a real one is a few KiB. */
const MAX_STDIN_CONFIG_BYTES = 1 << 20;

async function readStdin(): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of Deno.stdin.readable) {
    text += decoder.decode(chunk, { stream: true });
    if (text.length > MAX_STDIN_CONFIG_BYTES) {
      throw new ConfigError({ file: STDIN_LABEL, problem: "config longer than 1 MiB" });
    }
  }
  return text + decoder.decode();
}

/**
 * Reads the config file's text (`-`: standard input, for a config the binary may not read itself).
 * @throws {ConfigError} `<file>: cannot read config file (not found)` and the like
 */
export async function readConfigText(path: string): Promise<string> {
  if (path === STDIN) return await readStdin();
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const { reason, hint } = describeFsError(error);
    throw new ConfigError({
      file: path,
      problem: `cannot read config file (${reason})`,
      hint,
      cause: error,
    });
  }
}

/**
 * Parses and validates config text; `file` names it in errors. Pure: no I/O.
 * @throws {ConfigError} for invalid TOML (with line and column) or schema violations
 */
export function parseConfigText(file: string, text: string): ConfigFileConfig {
  return validateConfigFile(file, parseTomlText(file, text));
}

/**
 * Parses config text as TOML without checking it against the schema, for callers that add to it
 * first (the client's command-line forwards). Pure: no I/O.
 * @throws {ConfigError} for invalid TOML (with line and column)
 */
export function parseTomlText(file: string, text: string): Record<string, unknown> {
  try {
    return parse(text);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const detail = error.message.replace(/^Invalid TOML document: /, "").split("\n")[0];
    throw new ConfigError({
      file,
      problem: `invalid TOML at line ${error.line}, column ${error.column}: ${detail}`,
      cause: error,
    });
  }
}

/**
 * Checks parsed TOML against the schema; `file` names it in errors. Pure: no I/O.
 * @throws {ConfigError} for schema violations, each with its key path
 */
export function validateConfigFile(file: string, raw: unknown): ConfigFileConfig {
  const result = ConfigFile.safeParse(raw, { error: configErrorMap, reportInput: true });
  if (!result.success) throw issuesToError(file, result.error.issues, ConfigFile);
  return result.data;
}

/** The error for a role whose section is absent, pointing at the sections the file does have. */
function missing(file: string, parsed: ConfigFileConfig, role: Role): never {
  const present = Role.options.filter((r) => parsed[r] !== undefined);
  throw new ConfigError({
    file,
    keyPath: role,
    problem: `section missing (run with --role=${role} needs [${role}])`,
    hint: present.length > 0
      ? `this file has ${present.map((r) => `[${r}]`).join(", ")}; did you mean --role=${
        present[0]
      }?`
      : undefined,
  });
}

/**
 * The client's endpoint credentials are readable and well formed, and no proxy endpoint listens off
 * loopback without them.
 * @throws {ConfigError} naming the key
 */
export async function checkEndpoints(config: ClientConfig, label: string, env: Env): Promise<void> {
  const credentials = await resolveEndpointCredentials(
    { file: label, keyPath: "client.endpoint_credentials_file" },
    { file: config.endpoint_credentials_file, env },
  );
  const exposed = exposedEndpoint(config, label, credentials !== undefined);
  if (exposed) throw exposed;
}
