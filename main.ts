/**
 * Entry point of the ztna binary: parse the command line, load the role's config, configure
 * logging, wire signals, run the role. The only place that calls Deno.exit and maps errors to
 * exit statuses: 0 stopped cleanly, 1 failed, 2 wrong command line or config, 130 forced stop.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  type ClientFlags,
  type Command,
  dropRoleWriteAccess,
  helpText,
  parseArgs,
  UsageError,
} from "./src/cli/mod.ts";
import { ProcessSignals, type RunContext } from "./src/runtime/mod.ts";
import {
  applyLogEnv,
  ConfigError,
  type Env,
  ENV_VARS,
  type LoadedConfig,
  loadRoleConfig,
  type LogConfig,
  LogSection,
} from "./src/config/mod.ts";
import { configureLogging } from "./src/log/mod.ts";
import { VERSION } from "./src/version.ts";

/** Exit statuses; 2 is the conventional "you called me wrong". */
const EXIT = { ok: 0, failed: 1, usage: 2, forced: 130 } as const;

const encoder = new TextEncoder();

function write(stream: { writeSync(bytes: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += stream.writeSync(bytes.subarray(written));
}

/** The ZTNA_* variables only: the permission set grants nothing else. */
function readEnv(): Env {
  return Object.fromEntries(Object.keys(ENV_VARS).map((name) => [name, Deno.env.get(name)]));
}

/** Flags win over what env and file gave. */
function withFlags(
  log: LogConfig,
  command: { logLevel?: LogConfig["level"]; logFormat?: LogConfig["format"] },
): LogConfig {
  return { level: command.logLevel ?? log.level, format: command.logFormat ?? log.format };
}

/** Runs a role until it resolves; signals stop it, a second stop signal exits at once. */
async function runUntilStopped(run: (ctx: RunContext) => Promise<void>): Promise<number> {
  using signals = new ProcessSignals({ onForceExit: () => Deno.exit(EXIT.forced) });
  await run(signals);
  getLogger(["ztna"]).info("Stopped");
  return EXIT.ok;
}

/**
 * The process gives up all network access once the role's sandbox Worker exists: that Worker keeps
 * the narrower grant it was created with, and the main thread only relays signals from then on.
 */
async function dropNetwork(): Promise<void> {
  await Deno.permissions.revoke({ name: "net" });
}

/** What a test build (tests/_builds/probing_role.ts) changes in {@link startRole}; main sets none. */
export interface TestBuild {
  /** Replaces the Worker module of the role's sandbox. */
  workerUrl?: URL;
  /** Extra values for that Worker. */
  test?: Record<string, string>;
  /** Runs on the main thread once it has dropped its network access. */
  afterDrop?: () => Promise<void>;
}

/**
 * Runs the chosen role in its sandbox, loading only that role's code: relay and client in a Worker
 * whose `net` is exactly what the config names (src/sandbox), the connector's data plane in its
 * egress Worker (relays and backends only).
 */
export async function startRole(
  loaded: LoadedConfig,
  logConfig: LogConfig,
  ctx: RunContext,
  build: TestBuild = {},
  options: { connect?: string; reloadConfig?: () => Promise<LoadedConfig> } = {},
): Promise<void> {
  const onSandboxStarted = async () => {
    await dropNetwork();
    await build.afterDrop?.();
  };
  const sandbox = {
    log: logConfig,
    onSandboxStarted,
    workerUrl: build.workerUrl,
    test: build.test,
    ...(options.connect === undefined ? {} : { connect: options.connect }),
    ...(options.reloadConfig === undefined ? {} : { reloadConfig: options.reloadConfig }),
  };
  switch (loaded.role) {
    case "intermediate":
    case "client": {
      const { runRoleSandboxed } = await import("./src/sandbox/mod.ts");
      return await runRoleSandboxed(loaded, ctx, sandbox);
    }
    case "connector": {
      const { runConnector } = await import("./src/connector/mod.ts");
      return await runConnector(loaded.config, loaded.token, ctx, sandbox);
    }
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const env = readEnv();
  const command: Command = parseArgs(argv, env);
  switch (command.kind) {
    case "help":
      write(Deno.stdout, helpText(command.topic));
      return EXIT.ok;
    case "version": {
      const { versionLine } = await import("./src/cli/version_line.ts");
      write(Deno.stdout, await versionLine());
      return EXIT.ok;
    }
    case "admin": {
      const { runAdmin } = await import("./src/cli/admin/mod.ts");
      return await runAdmin(command.args);
    }
    case "demo": {
      configureLogging(withFlags(applyLogEnv(LogSection.parse({}), env), command));
      const { runDemo } = await import("./src/demo/mod.ts");
      return await runUntilStopped((ctx) => runDemo(ctx));
    }
    case "doctor": {
      // Reports on standard output; warnings of the probes' own code go to standard error.
      await dropRoleWriteAccess();
      configureLogging(applyLogEnv({ level: "error", format: "text" }, env));
      const { runDoctor } = await import("./src/doctor/mod.ts");
      return await runDoctor({ ...command, write: (text) => write(Deno.stdout, text) }, env);
    }
    case "connect": {
      await dropRoleWriteAccess();
      const { loadConnectConfig } = await import("./src/config/connect.ts");
      const { config, token, log } = await loadConnectConfig(command, env);
      const logConfig = withFlags(log, command);
      configureLogging(logConfig);
      const loaded = { role: "client", log, config, token } as const;
      await checkToken(loaded, command.configPath ?? "command line", command.service);
      return await runUntilStopped((ctx) =>
        startRole(loaded, logConfig, ctx, {}, { connect: command.service })
      );
    }
    case "role": {
      // Before the config is read: nothing a role runs (npm code included) may rewrite it.
      await dropRoleWriteAccess();
      const loaded = command.client === undefined && command.configPath !== undefined
        ? await loadRoleConfig(command.configPath, command.role, env)
        : await loadClientFlags(command.configPath, command.client, env);
      const configLabel = command.configPath ?? "command line";
      const logConfig = withFlags(loaded.log, command);
      configureLogging(logConfig);
      getLogger(["ztna"]).info("Starting ztna {version} as {role}", {
        version: VERSION,
        role: loaded.role,
      });
      // A client that logs in has no token yet: the relay issues one after the login.
      const logsIn = loaded.role === "client" && loaded.config.login !== undefined;
      if (loaded.role !== "intermediate" && !logsIn) await checkToken(loaded, configLabel);
      // SIGHUP: the client reads its config (and flags) again; forwards and endpoints follow it.
      // A connector reads its file again: its services follow it (src/connector/reload.ts).
      const configPath = command.configPath;
      const reloadConfig = loaded.role === "client"
        ? () =>
          command.client === undefined && command.configPath !== undefined
            ? loadRoleConfig(command.configPath, "client", env)
            : loadClientFlags(command.configPath, command.client, env)
        : loaded.role === "connector" && configPath !== undefined
        ? () => loadRoleConfig(configPath, "connector", env)
        : undefined;
      return await runUntilStopped((ctx) =>
        startRole(loaded, logConfig, ctx, {}, reloadConfig ? { reloadConfig } : {})
      );
    }
  }
}

/** The client of `--role=client` with flags (args.ts requires a config file for the others). */
async function loadClientFlags(
  configPath: string | undefined,
  client: ClientFlags | undefined,
  env: Env,
): Promise<LoadedConfig> {
  const { loadClientFlagsConfig } = await import("./src/config/client_flags.ts");
  return await loadClientFlagsConfig({ ...(client ?? { forward: [] }), configPath }, env);
}

/**
 * Says at start what the relay would refuse about this token, with the command that reissues it.
 * @throws {ConfigError} for a token of the other role (it can never work)
 */
async function checkToken(
  loaded: Extract<LoadedConfig, { role: "connector" | "client" }>,
  configPath: string,
  connectTo?: string,
): Promise<void> {
  const { tokenMisfits } = await import("./src/auth/token_fit.ts");
  const services = loaded.role === "client"
    ? connectTo === undefined
      ? loaded.config.forward.map((f) => f.service)
      : [serviceIdOf(connectTo, loaded.config.service_suffix)]
    : loaded.config.service.map((s) => s.id);
  const misfits = tokenMisfits(loaded.token, { role: loaded.role, services, nowMs: Date.now() });
  const keyPath = `${loaded.role}.token_file`;
  for (const misfit of misfits) {
    if (misfit.kind === "role" || misfit.kind === "unreadable") {
      throw new ConfigError({ file: configPath, keyPath, problem: misfit.message });
    }
    // The relay's clock and grants decide; the other services of this config may still work.
    getLogger(["ztna", loaded.role]).error("Token problem: {problem}", { problem: misfit.message });
  }
}

/** `web.ztna` → `web` for the token check of `ztna connect` (the client checks the name again). */
function serviceIdOf(name: string, suffix: string): string {
  const bare = name.endsWith(".") ? name.slice(0, -1) : name;
  return bare.endsWith(`.${suffix}`) ? bare.slice(0, -suffix.length - 1) : bare;
}

/** Prints an error as `ztna: <message>` lines (never a stack) and picks the exit status. */
function report(error: unknown): number {
  const lines: string[] = [];
  let code: number = EXIT.failed;
  if (error instanceof UsageError || error instanceof ConfigError) {
    code = EXIT.usage;
    lines.push(error.message);
    if (error instanceof ConfigError) lines.push(...error.more.map((e) => e.message));
    if (error.hint !== undefined) lines.push(`hint: ${error.hint}`);
  } else {
    lines.push(error instanceof Error ? error.message : String(error));
    getLogger(["ztna"]).debug("Fatal error: {error}", { error });
  }
  write(Deno.stderr, lines.map((line) => `ztna: ${line}\n`).join(""));
  return code;
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    code = report(error);
  }
  Deno.exit(code);
}
