/**
 * Parses argv into the one thing to do: run a role, run the demo, hand over to admin, print help or
 * the version. Hand-written and strict: unknown flags, unknown roles and stray positional arguments
 * are errors with a hint, never guesses.
 * Pure: no I/O; the environment is passed in.
 * @module
 */
import { closestMatch, type Env, envValue, LogSection, Role } from "../config/mod.ts";
import { UsageError } from "./usage_error.ts";
import { parseConnect, parseDoctor } from "./subcommands.ts";

export { UsageError } from "./usage_error.ts";

const LOG_LEVELS = LogSection.shape.level.unwrap().options;
const LOG_FORMATS = LogSection.shape.format.unwrap().options;

/** A `[log]` level as accepted by `--log-level`. */
export type LogLevelName = (typeof LOG_LEVELS)[number];
/** A `[log]` format as accepted by `--log-format`. */
export type LogFormatName = (typeof LOG_FORMATS)[number];
/** What `--help` can be about: a role, the demo, `ztna connect` or `ztna doctor`. */
export type HelpTopic = Role | "demo" | "connect" | "doctor";

/** The parsed command line. */
export type Command =
  | {
    kind: "role";
    role: Role;
    /** Absent only for a client whose relay and listeners all come from flags and ZTNA_*. */
    configPath?: string;
    /** `--role=client`: relay, CA, forwards and SOCKS endpoint from flags (merged with ZTNA_*). */
    client?: ClientFlags;
    logLevel?: LogLevelName;
    logFormat?: LogFormatName;
  }
  | {
    kind: "connect";
    /** The service as written (`%h` of an SSH ProxyCommand): `id` or `id.<suffix>`. */
    service: string;
    /** Config file, when given by --config or ZTNA_CONFIG and no relay is named. */
    configPath?: string;
    /** Relay `host:port` (--relay, ZTNA_RELAY); wins over the config file's relays. */
    relay?: string;
    serverName?: string;
    /** CA bundle file or PEM text (--ca, ZTNA_CA). */
    ca?: string;
    logLevel?: LogLevelName;
    logFormat?: LogFormatName;
  }
  | {
    kind: "doctor";
    /** Config file (--config, ZTNA_CONFIG) unless the relay comes from --relay or ZTNA_RELAY. */
    configPath?: string;
    relay?: string;
    serverName?: string;
    ca?: string;
    /** Check a direct path to this service, and that the token grants it. */
    service?: string;
    json: boolean;
  }
  | { kind: "admin"; args: string[] }
  | { kind: "demo"; logLevel?: LogLevelName; logFormat?: LogFormatName }
  | { kind: "help"; topic?: HelpTopic }
  | { kind: "version" };

/**
 * What `--role=client` takes on its command line, so a laptop runs a client without writing a
 * config file: each forward as written (`SERVICE=[HOST:]PORT[/udp]`, checked by the config loader
 * so its errors name the flag), the SOCKS endpoint, and the relay, its TLS name and CA (flag, else
 * ZTNA_RELAY, ZTNA_SERVER_NAME, ZTNA_CA).
 */
export interface ClientFlags {
  forward: string[];
  socks?: string;
  relay?: string;
  serverName?: string;
  ca?: string;
}

type FlagName =
  | "--role"
  | "--config"
  | "--log-level"
  | "--log-format"
  | "--help"
  | "--version"
  | "--forward"
  | "--socks"
  | "--relay"
  | "--server-name"
  | "--ca";

const TAKES_VALUE: Record<FlagName, boolean> = {
  "--role": true,
  "--config": true,
  "--log-level": true,
  "--log-format": true,
  "--help": false,
  "--version": false,
  "--forward": true,
  "--socks": true,
  "--relay": true,
  "--server-name": true,
  "--ca": true,
};

/** Flags only `--role=client` takes. */
const CLIENT_FLAGS = ["--forward", "--socks", "--relay", "--server-name", "--ca"] as const;

/** The one flag that may be given more than once (one forward each). */
const REPEATABLE: readonly FlagName[] = ["--forward"];

const ALIASES: Record<string, FlagName> = { "-c": "--config", "-h": "--help" };

const KNOWN_FLAGS: readonly string[] = [...Object.keys(TAKES_VALUE), ...Object.keys(ALIASES)];

/** Commands written as the first word; everything else is a flag. */
const COMMANDS = ["admin", "demo", "connect", "doctor"] as const;

const HELP_HINT = 'run "ztna --help" for usage';

function isFlagName(name: string): name is FlagName {
  return Object.hasOwn(TAKES_VALUE, name);
}

function canonical(name: string): FlagName | undefined {
  if (isFlagName(name)) return name;
  return Object.hasOwn(ALIASES, name) ? ALIASES[name] : undefined;
}

function unknownFlag(name: string): UsageError {
  const near = closestMatch(name, KNOWN_FLAGS);
  const suggestion = near === undefined ? "" : `; did you mean "${near}"?`;
  return new UsageError(`unknown flag "${name}"${suggestion}`, { hint: HELP_HINT });
}

function unexpectedArgument(arg: string): UsageError {
  const role = Role.options.find((r) => r === arg);
  const command = closestMatch(arg, COMMANDS);
  const hint = role !== undefined
    ? `did you mean --role=${role}?`
    : /\.toml$/i.test(arg)
    ? `did you mean --config ${arg}?`
    : command !== undefined
    ? `commands come first: "ztna ${command} …"`
    : HELP_HINT;
  return new UsageError(
    `unexpected argument "${arg}"; ztna takes no positional arguments`,
    { hint },
  );
}

function parseRole(value: string): Role {
  const role = Role.options.find((r) => r === value);
  if (role !== undefined) return role;
  const near = ["relay", "server", "gateway"].includes(value.toLowerCase())
    ? "intermediate"
    : closestMatch(value, Role.options);
  throw new UsageError(`unknown role "${value}"; expected intermediate, connector or client`, {
    hint: near === undefined ? HELP_HINT : `did you mean --role=${near}?`,
  });
}

export function parseChoice<T extends string>(
  flag: string,
  options: readonly T[],
  value: string,
): T {
  const found = options.find((o) => o === value);
  if (found !== undefined) return found;
  const list = options.join(", ");
  throw new UsageError(`invalid value "${value}" for ${flag}; expected one of ${list}`);
}

/** Flags found on the command line, each at most once but --forward (every value in `forwards`). */
type Seen = Partial<Record<FlagName, string>> & { forwards?: string[] };

function collectFlags(args: readonly string[]): Seen {
  const seen: Seen = {};
  const forwards: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-") || arg === "-") throw unexpectedArgument(arg);
    const eq = arg.indexOf("=");
    const written = eq < 0 ? arg : arg.slice(0, eq);
    const name = canonical(written);
    if (name === undefined) throw unknownFlag(written);
    if (seen[name] !== undefined && !REPEATABLE.includes(name)) {
      throw new UsageError(`flag "${name}" given more than once`);
    }
    let value = "";
    if (TAKES_VALUE[name]) {
      if (eq >= 0) {
        value = arg.slice(eq + 1);
      } else {
        const next = args[i + 1];
        if (next === undefined || (next.startsWith("-") && next !== "-")) {
          throw new UsageError(`flag "${written}" needs a value`, { hint: HELP_HINT });
        }
        value = next;
        i++;
      }
      if (value === "") {
        throw new UsageError(`flag "${written}" needs a value`, { hint: HELP_HINT });
      }
    } else if (eq >= 0) {
      throw new UsageError(`flag "${written}" takes no value`);
    }
    seen[name] = value;
    if (name === "--forward") forwards.push(value);
  }
  return forwards.length > 0 ? { ...seen, forwards } : seen;
}

/** Rejects the client-only flags for another role or the demo. */
function noClientFlags(seen: Seen, what: string): void {
  const flag = CLIENT_FLAGS.find((f) => seen[f] !== undefined);
  if (flag !== undefined) {
    throw new UsageError(`flag "${flag}" applies to --role=client only, not ${what}`, {
      hint: HELP_HINT,
    });
  }
}

/** The log flags of any command, checked against the `[log]` choices. */
export function logFlags(
  seen: Partial<Record<"--log-level" | "--log-format", string>>,
): { logLevel?: LogLevelName; logFormat?: LogFormatName } {
  const level = seen["--log-level"];
  const format = seen["--log-format"];
  return {
    ...(level === undefined ? {} : { logLevel: parseChoice("--log-level", LOG_LEVELS, level) }),
    ...(format === undefined
      ? {}
      : { logFormat: parseChoice("--log-format", LOG_FORMATS, format) }),
  };
}

function parseDemo(args: readonly string[]): Command {
  const seen = collectFlags(args);
  noClientFlags(seen, '"ztna demo"');
  for (const flag of ["--role", "--config"] as const) {
    if (seen[flag] !== undefined) {
      throw new UsageError(`flag "${flag}" does not apply to "ztna demo"`, {
        hint: 'the demo runs every role itself with built-in settings; see "ztna demo --help"',
      });
    }
  }
  if (seen["--help"] !== undefined) return { kind: "help", topic: "demo" };
  if (seen["--version"] !== undefined) return { kind: "version" };
  return { kind: "demo", ...logFlags(seen) };
}

/**
 * Parses the arguments after the program name.
 * @param env the environment; only ZTNA_CONFIG is read (default for --config)
 * @throws {UsageError} for unknown flags or roles, stray arguments, missing --role or --config
 */
export function parseArgs(argv: readonly string[], env: Env): Command {
  if (argv[0] === "admin") return { kind: "admin", args: argv.slice(1) };
  if (argv[0] === "demo") return parseDemo(argv.slice(1));
  if (argv[0] === "connect") return parseConnect(argv.slice(1), env);
  if (argv[0] === "doctor") return parseDoctor(argv.slice(1), env);
  // `ztna login --config client.toml`: the client role, logging in by its [client.login].
  if (argv[0] === "login") return parseArgs(["--role=client", ...argv.slice(1)], env);
  const seen = collectFlags(argv);
  const roleText = seen["--role"];
  const role = roleText === undefined ? undefined : parseRole(roleText);
  if (seen["--help"] !== undefined) {
    return role === undefined ? { kind: "help" } : { kind: "help", topic: role };
  }
  if (seen["--version"] !== undefined) return { kind: "version" };
  if (role === undefined) {
    throw new UsageError("missing --role; expected intermediate, connector or client", {
      hint: 'run "ztna demo" to try all roles on one machine, or "ztna --help" for usage',
    });
  }
  const configPath = seen["--config"] ?? envValue(env, "ZTNA_CONFIG");
  if (role !== "client") {
    noClientFlags(seen, `--role=${role}`);
  } else {
    const client = clientFlags(seen, env);
    const listens = client.forward.length > 0 || client.socks !== undefined;
    if (configPath === undefined && (client.relay === undefined || !listens)) {
      throw new UsageError(
        "missing --config; --role=client needs a config file, or a relay and a listener on the " +
          "command line",
        {
          hint: client.relay === undefined
            ? "pass --config <file> (or set ZTNA_CONFIG), or --relay host:port (or set " +
              "ZTNA_RELAY) with --forward SERVICE=127.0.0.1:PORT or --socks 127.0.0.1:PORT"
            : "add --forward SERVICE=127.0.0.1:PORT (repeatable) or --socks 127.0.0.1:PORT",
        },
      );
    }
    const given = client.forward.length > 0 || Object.keys(client).length > 1;
    return {
      kind: "role",
      role,
      ...(configPath === undefined ? {} : { configPath }),
      ...(given ? { client } : {}),
      ...logFlags(seen),
    };
  }
  if (configPath === undefined) {
    throw new UsageError(`missing --config; --role=${role} needs a config file`, {
      hint: "pass --config <file> or set ZTNA_CONFIG",
    });
  }
  return { kind: "role", role, configPath, ...logFlags(seen) };
}

/** The client's flags, the relay, its TLS name and CA falling back to ZTNA_* as `ztna connect`. */
function clientFlags(seen: Seen, env: Env): ClientFlags {
  const socks = seen["--socks"];
  const relay = seen["--relay"] ?? envValue(env, "ZTNA_RELAY");
  const serverName = seen["--server-name"] ?? envValue(env, "ZTNA_SERVER_NAME");
  const ca = seen["--ca"] ?? envValue(env, "ZTNA_CA");
  return {
    forward: seen.forwards ?? [],
    ...(socks === undefined ? {} : { socks }),
    ...(relay === undefined ? {} : { relay }),
    ...(serverName === undefined ? {} : { serverName }),
    ...(ca === undefined ? {} : { ca }),
  };
}
