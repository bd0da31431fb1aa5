/**
 * The command lines of `ztna connect` and `ztna doctor`: their own small flag sets, read by one
 * strict collector (unknown flags and stray arguments are errors with a hint). Pure.
 * @module
 */
import { closestMatch, type Env, envValue } from "../config/mod.ts";
import { type Command, logFlags } from "./args.ts";
import { UsageError } from "./usage_error.ts";

/** What {@link collectSubcommandFlags} reads for one command. */
interface FlagSpec<F extends string> {
  command: "connect" | "doctor";
  flags: readonly F[];
  /** Flags that take no value (present or not). */
  switches: readonly F[];
  /** Whether bare arguments are allowed (connect's service). */
  positional: boolean;
}

/**
 * Reads `args` against `spec`: each flag at most once, `--flag value` or `--flag=value`, `-c` and
 * `-h` as `--config` and `--help`.
 * @throws {UsageError} naming the flag or argument, with the command's help hint
 */
function collectSubcommandFlags<F extends string>(
  args: readonly string[],
  spec: FlagSpec<F>,
): { seen: Partial<Record<F, string>>; positional: string[] } {
  const hint = `run "ztna ${spec.command} --help" for usage`;
  const seen: Partial<Record<F, string>> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-") || arg === "-") {
      if (!spec.positional) {
        throw new UsageError(`unexpected argument "${arg}" for "ztna ${spec.command}"`, { hint });
      }
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const written = eq < 0 ? arg : arg.slice(0, eq);
    const name = written === "-c" ? "--config" : written === "-h" ? "--help" : written;
    const flag = spec.flags.find((f) => f === name);
    if (flag === undefined) {
      const near = closestMatch(written, spec.flags);
      throw new UsageError(
        `unknown flag "${written}" for "ztna ${spec.command}"${
          near ? `; did you mean "${near}"?` : ""
        }`,
        { hint },
      );
    }
    if (seen[flag] !== undefined) throw new UsageError(`flag "${flag}" given more than once`);
    if (spec.switches.includes(flag)) {
      if (eq >= 0) throw new UsageError(`flag "${flag}" takes no value`);
      seen[flag] = "";
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || value === "" || (eq < 0 && value.startsWith("--"))) {
      throw new UsageError(`flag "${written}" needs a value`, { hint });
    }
    seen[flag] = value;
  }
  return { seen, positional };
}

/** The relay, its TLS name, its CA and the config, flags winning over their ZTNA_* variables. */
function dialerFlags(
  seen: Partial<Record<"--relay" | "--server-name" | "--ca" | "--config", string>>,
  env: Env,
): { relay?: string; serverName?: string; ca?: string; configPath?: string } {
  const relay = seen["--relay"] ?? envValue(env, "ZTNA_RELAY");
  const serverName = seen["--server-name"] ?? envValue(env, "ZTNA_SERVER_NAME");
  const ca = seen["--ca"] ?? envValue(env, "ZTNA_CA");
  const configPath = seen["--config"] ?? envValue(env, "ZTNA_CONFIG");
  return {
    ...(configPath === undefined ? {} : { configPath }),
    ...(relay === undefined ? {} : { relay }),
    ...(serverName === undefined ? {} : { serverName }),
    ...(ca === undefined ? {} : { ca }),
  };
}

const CONNECT_FLAGS = [
  "--relay",
  "--server-name",
  "--ca",
  "--config",
  "--log-level",
  "--log-format",
  "--help",
] as const;

/**
 * `ztna connect SERVICE [--relay host:port] [--server-name name] [--ca file] [--config file]`: one
 * flow on stdin and stdout. Flags win over ZTNA_RELAY, ZTNA_SERVER_NAME, ZTNA_CA and ZTNA_CONFIG.
 * @throws {UsageError} for unknown flags, no or several services, no relay and no config
 */
export function parseConnect(args: readonly string[], env: Env): Command {
  const { seen, positional } = collectSubcommandFlags(args, {
    command: "connect",
    flags: CONNECT_FLAGS,
    switches: ["--help"],
    positional: true,
  });
  if (seen["--help"] !== undefined) return { kind: "help", topic: "connect" };
  if (positional.length !== 1) {
    throw new UsageError(
      positional.length === 0
        ? 'missing the service: "ztna connect <service>"'
        : `"ztna connect" takes one service, got ${positional.length}`,
      { hint: "in ~/.ssh/config: ProxyCommand ztna connect %h" },
    );
  }
  const dialer = dialerFlags(seen, env);
  if (dialer.relay === undefined && dialer.configPath === undefined) {
    throw new UsageError("ztna connect needs a relay: --relay host:port, or a client config", {
      hint: "pass --relay (or set ZTNA_RELAY), or --config <file> (or set ZTNA_CONFIG)",
    });
  }
  return { kind: "connect", service: positional[0].toLowerCase(), ...dialer, ...logFlags(seen) };
}

const DOCTOR_FLAGS = [
  "--config",
  "--relay",
  "--server-name",
  "--ca",
  "--service",
  "--json",
  "--help",
] as const;

/**
 * `ztna doctor [--config file | --relay host:port [--server-name n] [--ca file]] [--service s]
 * [--json]`: the relay, TLS name and CA fall back to ZTNA_RELAY, ZTNA_SERVER_NAME and ZTNA_CA, the
 * config to ZTNA_CONFIG, as for the client.
 * @throws {UsageError} for unknown flags, stray arguments, no relay and no config
 */
export function parseDoctor(args: readonly string[], env: Env): Command {
  const { seen } = collectSubcommandFlags(args, {
    command: "doctor",
    flags: DOCTOR_FLAGS,
    switches: ["--help", "--json"],
    positional: false,
  });
  if (seen["--help"] !== undefined) return { kind: "help", topic: "doctor" };
  const dialer = dialerFlags(seen, env);
  if (dialer.relay === undefined && dialer.configPath === undefined) {
    throw new UsageError("ztna doctor needs a config file, or a relay", {
      hint: "pass --config <file> (or set ZTNA_CONFIG), or --relay host:port (or set ZTNA_RELAY)",
    });
  }
  const service = seen["--service"]?.toLowerCase();
  return {
    kind: "doctor",
    ...dialer,
    ...(service === undefined ? {} : { service }),
    json: seen["--json"] !== undefined,
  };
}
