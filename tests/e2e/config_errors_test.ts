/**
 * Startup mistakes against the real binary (main.ts under the shipped permission set): each must
 * exit with status 2 and one `ztna: <file>: <key>: <problem>` line (plus an optional hint line),
 * never a stack trace. Also --version and --help.
 * @module
 */
import assert from "node:assert/strict";
import { runZtna, tempDir } from "../_helpers/ztna_process.ts";

const PEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n";

const RELAY = `[intermediate]
listen = "192.0.2.1:4433"
cert = "relay.pem"
key = "relay-key.pem"
token_public_keys = ["signing.pub.pem"]
`;

const CONNECTOR = `[connector]
relays = [{ address = "relay.example.com:4433" }]
[[connector.service]]
id = "web"
backend = "192.0.2.10:8080"
`;

/** Deno's own notice about permissions in deno.json; not ours, so not part of the assertions. */
const DENO_NOTICE = /^Warning Permissions in the config file is an experimental feature/;

/** No token and no config from the developer's shell may leak into these runs. */
const CLEAN_ENV = { ZTNA_TOKEN: "", ZTNA_CONFIG: "", ZTNA_LOG_LEVEL: "", ZTNA_LOG_FORMAT: "" };

/** Writes `files` (name → text) plus the PEM files RELAY names into a fresh folder. */
async function folderWith(files: Record<string, string>) {
  const dir = await tempDir("config-errors");
  for (const name of ["relay.pem", "relay-key.pem", "signing.pub.pem"]) {
    await Deno.writeTextFile(`${dir.path}/${name}`, PEM);
  }
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir.path}/${name}`, text);
  }
  return dir;
}

/** Runs ztna, expects exit 2 and one error line matching every pattern, and returns that line. */
async function expectUsageFailure(
  args: string[],
  patterns: Array<string | RegExp>,
  env: Record<string, string> = {},
): Promise<string> {
  const { code, stdout, stderr } = await runZtna(args, { env: { ...CLEAN_ENV, ...env } });
  const lines = stderr.split("\n").filter((line) => line !== "" && !DENO_NOTICE.test(line));
  const context = `args: ${args.join(" ")}\nstderr:\n${stderr}`;
  assert.equal(code, 2, context);
  assert.equal(stdout, "", context);
  assert.doesNotMatch(stderr, /\bat .*:\d+:\d+/, `stack trace printed\n${context}`);
  assert.ok(
    lines.length === 1 || (lines.length === 2 && lines[1].startsWith("ztna: hint: ")),
    context,
  );
  assert.match(lines[0], /^ztna: \S/, context);
  for (const pattern of patterns) {
    if (typeof pattern === "string") {
      assert.ok(lines[0].includes(pattern), `${pattern}\n${context}`);
    } else assert.match(lines[0], pattern, context);
  }
  return lines[0];
}

/** Writes `toml` as relay.toml beside the PEM files and runs the given role on it. */
async function expectConfigFailure(
  role: string,
  toml: string,
  patterns: Array<string | RegExp>,
  env: Record<string, string> = {},
): Promise<string> {
  await using dir = await folderWith({ "relay.toml": toml });
  const file = `${dir.path}/relay.toml`;
  const line = await expectUsageFailure([`--role=${role}`, "--config", file], patterns, env);
  assert.ok(line.startsWith(`ztna: ${file}: `), line);
  return line;
}

Deno.test("ztna refuses a config missing a required key", async () => {
  const toml = RELAY.replace('cert = "relay.pem"\n', "");
  await expectConfigFailure("intermediate", toml, ["intermediate.cert: missing required key"]);
});

Deno.test("ztna refuses a value of the wrong type", async () => {
  const toml = RELAY.replace('listen = "192.0.2.1:4433"', "listen = 4433");
  await expectConfigFailure("intermediate", toml, [
    "intermediate.listen: expected a string, got 4433",
  ]);
});

Deno.test("ztna refuses an address without host", async () => {
  const toml = RELAY.replace('listen = "192.0.2.1:4433"', 'listen = "4433"');
  await expectConfigFailure("intermediate", toml, [
    'intermediate.listen: expected host:port, got "4433"',
  ]);
});

Deno.test("ztna refuses a port out of range", async () => {
  const toml = RELAY.replace("192.0.2.1:4433", "192.0.2.1:70000");
  await expectConfigFailure("intermediate", toml, [
    "intermediate.listen:",
    "port must be at most 65535",
  ]);
});

Deno.test("ztna refuses an unknown key and suggests the right one", async () => {
  const toml = RELAY.replace("listen =", "lsten =");
  await expectConfigFailure("intermediate", toml, [
    'intermediate.lsten: unknown key; did you mean "listen"?',
  ]);
});

Deno.test("ztna refuses an unknown nested key", async () => {
  const toml = `${RELAY}[intermediate.limits]\nmax_flow = 10\n`;
  await expectConfigFailure("intermediate", toml, ["intermediate.limits.max_flow: unknown key"]);
});

Deno.test("ztna refuses a missing certificate file", async () => {
  const toml = RELAY.replace('"relay.pem"', '"missing.pem"');
  await expectConfigFailure("intermediate", toml, [
    "intermediate.cert: cannot read",
    "missing.pem",
    "(not found)",
  ]);
});

Deno.test("ztna refuses a folder where a key file is expected", async () => {
  await using dir = await folderWith({ "relay.toml": RELAY.replace('"relay-key.pem"', '"keys"') });
  await Deno.mkdir(`${dir.path}/keys`);
  await expectUsageFailure(
    ["--role=intermediate", "--config", `${dir.path}/relay.toml`],
    ["intermediate.key: cannot read", "(is a folder, not a file)"],
  );
});

Deno.test("ztna explains a config file outside its permission set", async () => {
  const file = await Deno.makeTempFile({ dir: "/tmp", prefix: "ztna-e2e-", suffix: ".toml" });
  try {
    await Deno.writeTextFile(file, RELAY);
    await expectUsageFailure(
      ["--role=intermediate", "--config", file],
      [`${file}: cannot read config file`, "/etc/ztna", "/var/lib/ztna"],
    );
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("ztna refuses a config file that does not exist", async () => {
  await expectUsageFailure(
    ["--role=intermediate", "--config", "state/test/no-such-file.toml"],
    ["ztna: state/test/no-such-file.toml: cannot read config file (not found)"],
  );
});

Deno.test("ztna refuses invalid TOML with line and column", async () => {
  const toml = `${RELAY}drain_timeout_ms = \n`;
  await expectConfigFailure("intermediate", toml, [/invalid TOML at line 6, column \d+: \S/]);
});

Deno.test("ztna refuses a log level it does not know", async () => {
  const toml = `[log]\nlevel = "loud"\n${RELAY}`;
  await expectConfigFailure("intermediate", toml, [
    'log.level: expected one of "debug", "info", "warning", "error", got "loud"',
  ]);
});

Deno.test("ztna refuses a bad ZTNA_LOG_LEVEL naming the variable", async () => {
  await using dir = await folderWith({ "relay.toml": RELAY });
  await expectUsageFailure(
    ["--role=intermediate", "--config", `${dir.path}/relay.toml`],
    ['ztna: environment: ZTNA_LOG_LEVEL: expected one of "debug", "info", "warning", "error"'],
    { ZTNA_LOG_LEVEL: "loud" },
  );
});

Deno.test("ztna refuses an empty relays array", async () => {
  const toml = CONNECTOR.replace(/relays = .*\n/, "relays = []\n");
  await expectConfigFailure("connector", toml, ["connector.relays: expected at least one relay"], {
    ZTNA_TOKEN: "a.b.c",
  });
});

Deno.test("ztna refuses an invalid service id", async () => {
  const toml = CONNECTOR.replace('id = "web"', 'id = "Web Server"');
  await expectConfigFailure("connector", toml, [
    "connector.service[0].id: expected a service id",
    '"Web Server"',
  ]);
});

Deno.test("ztna refuses a role whose section is missing", async () => {
  await expectConfigFailure("connector", RELAY, [
    "connector: section missing (run with --role=connector needs [connector])",
  ]);
});

Deno.test("ztna refuses a connector without a token, and never prints one", async () => {
  await expectConfigFailure("connector", CONNECTOR, ["connector.token_file:", "ZTNA_TOKEN"]);
  const badToken = CONNECTOR.replace("[connector]\n", '[connector]\ntoken_file = "relay.pem"\n');
  const line = await expectConfigFailure("connector", badToken, [
    "connector.token_file: file does not hold a token",
  ]);
  assert.doesNotMatch(line, /BEGIN/);
});

Deno.test("ztna refuses an unknown flag and suggests the right one", async () => {
  await expectUsageFailure(["--role=intermediate", "--confg", "relay.toml"], [
    'ztna: unknown flag "--confg"; did you mean "--config"?',
  ]);
});

Deno.test("ztna refuses an unknown role", async () => {
  await expectUsageFailure(["--role=relay", "--config", "relay.toml"], [
    'ztna: unknown role "relay"; expected intermediate, connector or client',
  ]);
});

Deno.test("ztna refuses a positional argument instead of guessing", async () => {
  await expectUsageFailure(["--role=intermediate", "relay.toml"], [
    'unexpected argument "relay.toml"',
  ]);
});

Deno.test("ztna refuses a role without --config or ZTNA_CONFIG", async () => {
  await expectUsageFailure(["--role=client"], ["ztna: missing --config"]);
});

Deno.test("ztna --version prints the version and exits 0", async () => {
  const { code, stdout } = await runZtna(["--version"]);
  assert.equal(code, 0);
  // A run from this checkout names its HEAD; a compiled binary the commit it was built from.
  assert.match(
    stdout,
    /^ztna 0\.1\.0 \(deno \d+\.\d+\.\d+, commit ([0-9a-f]{40} \(source checkout\)|unknown)\)\n$/,
  );
});

Deno.test("ztna --help and --role=connector --help exit 0", async () => {
  const general = await runZtna(["--help"], { env: CLEAN_ENV });
  assert.equal(general.code, 0);
  assert.match(general.stdout, /ztna admin --help/);
  const connector = await runZtna(["--role=connector", "--help"], { env: CLEAN_ENV });
  assert.equal(connector.code, 0);
  assert.match(connector.stdout, /^ztna --role=connector\n/);
  assert.match(connector.stdout, /\[\[connector\.service\]\]/);
});
