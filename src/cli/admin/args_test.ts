/**
 * Tests of parseAdminArgs(): each command, help, and every kind of usage error.
 * @module
 */
import assert from "node:assert/strict";
import { type AdminCommand, parseAdminArgs } from "./args.ts";
import {
  ADMIN_HELP,
  DEV_CERTS_HELP,
  KEYGEN_HELP,
  TOKEN_HELP,
  TOKEN_ISSUE_HELP,
  TOKEN_REVOKE_HELP,
} from "./help.ts";
import { UsageError } from "../usage_error.ts";

const ID = "AAAAAAAAAAAAAAAAAAAAAA";

function run(args: string[]): AdminCommand {
  const result = parseAdminArgs(args);
  assert.equal(result.kind, "run");
  if (result.kind !== "run") throw new Error("unreachable");
  return result.command;
}

function usage(args: string[], message: RegExp, hint?: RegExp): void {
  assert.throws(() => parseAdminArgs(args), (error: unknown) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.match(error.message, message);
    if (hint) assert.match(error.hint ?? "", hint);
    return true;
  });
}

Deno.test("parseAdminArgs() reads keygen with defaults", () => {
  assert.deepEqual(run(["keygen", "--out", "state/keys"]), {
    kind: "keygen",
    out: "state/keys",
    name: "token-signing",
    force: false,
  });
  assert.deepEqual(run(["keygen", "--out=k", "--name=rot-2", "--force"]), {
    kind: "keygen",
    out: "k",
    name: "rot-2",
    force: true,
  });
});

Deno.test("parseAdminArgs() reads token issue with repeated services and a ttl", () => {
  assert.deepEqual(
    run([
      "token",
      "issue",
      "--signing-key",
      "k.key",
      "--role",
      "client",
      "--service",
      "db",
      "--service=web",
      "--service",
      "db",
      "--subject",
      "alice@example.com",
      "--ttl",
      "12h",
      "--out",
      "state/alice.token",
    ]),
    {
      kind: "token-issue",
      signingKey: "k.key",
      role: "client",
      services: ["db", "web"],
      subject: "alice@example.com",
      ttlSeconds: 43_200,
      out: "state/alice.token",
    },
  );
  const defaults = run([
    "token",
    "issue",
    "--signing-key",
    "k",
    "--role",
    "connector",
    "--service",
    "*",
    "--subject",
    "dc",
  ]);
  assert.equal(defaults.kind === "token-issue" && defaults.ttlSeconds, 30 * 86_400);
});

Deno.test("parseAdminArgs() reads token revoke and dev-certs", () => {
  assert.deepEqual(
    run([
      "token",
      "revoke",
      "--id",
      ID,
      "--revocation-file",
      "state/revoked.txt",
      "--reason",
      "lost laptop",
    ]),
    {
      kind: "token-revoke",
      id: ID,
      revocationFile: "state/revoked.txt",
      reason: "lost laptop",
    },
  );
  assert.deepEqual(run(["dev-certs", "--out", "certs/dev"]), {
    kind: "dev-certs",
    out: "certs/dev",
    names: [],
  });
  assert.deepEqual(
    run([
      "dev-certs",
      "--out",
      "certs/dev",
      "--name",
      "relay.example.com",
      "--name",
      "192.0.2.1",
      "--valid-days",
      "30",
    ]),
    {
      kind: "dev-certs",
      out: "certs/dev",
      names: ["relay.example.com", "192.0.2.1"],
      validDays: 30,
    },
  );
});

Deno.test("parseAdminArgs() returns the help text of the command asked about", () => {
  const help = (args: string[]) => {
    const result = parseAdminArgs(args);
    assert.equal(result.kind, "help");
    return result.kind === "help" ? result.text : "";
  };
  assert.equal(help(["--help"]), ADMIN_HELP);
  assert.equal(help(["-h"]), ADMIN_HELP);
  assert.equal(help(["help"]), ADMIN_HELP);
  assert.equal(help(["keygen", "--help"]), KEYGEN_HELP);
  assert.equal(help(["token", "--help"]), TOKEN_HELP);
  assert.equal(help(["token", "issue", "-h"]), TOKEN_ISSUE_HELP);
  assert.equal(help(["token", "revoke", "--id", "bad", "--help"]), TOKEN_REVOKE_HELP);
  assert.equal(help(["dev-certs", "--help"]), DEV_CERTS_HELP);
});

Deno.test("parseAdminArgs() refuses unknown commands and flags with a hint", async (t) => {
  await t.step("nothing", () => usage([], /missing command/, /--help/));
  await t.step(
    "typo in a command",
    () => usage(["keygn"], /unknown command "ztna admin keygn"/, /"ztna admin keygen"/),
  );
  await t.step(
    "unknown command",
    () => usage(["frobnicate"], /unknown command/, /ztna admin --help/),
  );
  await t.step("token without subcommand", () => usage(["token"], /missing token command/));
  await t.step(
    "typo in token subcommand",
    () => usage(["token", "isue"], /unknown command/, /token issue/),
  );
  await t.step(
    "flag before the command",
    () => usage(["--out", "x", "keygen"], /before the command/),
  );
  await t.step(
    "unknown flag",
    () => usage(["keygen", "--out", "k", "--forse"], /unknown flag "--forse"/, /"--force"/),
  );
  await t.step(
    "flag of another command",
    () => usage(["dev-certs", "--out", "x", "--ttl", "1d"], /unknown flag "--ttl"/),
  );
  await t.step("positional argument", () => usage(["keygen", "k"], /unexpected argument "k"/));
  await t.step("missing value", () => usage(["keygen", "--out"], /"--out" needs a value/));
  await t.step(
    "flag as value",
    () => usage(["keygen", "--out", "--force"], /"--out" needs a value/),
  );
  await t.step(
    "value on a switch",
    () => usage(["keygen", "--out", "k", "--force=yes"], /takes no value/),
  );
  await t.step(
    "single flag twice",
    () => usage(["keygen", "--out", "a", "--out", "b"], /more than once/),
  );
  await t.step(
    "missing required flag",
    () => usage(["token", "revoke", "--id", ID], /missing --config or --revocation-file/),
  );
});

Deno.test("parseAdminArgs() refuses invalid values naming the flag and value", async (t) => {
  const issue = (...extra: string[]) => [
    "token",
    "issue",
    "--signing-key",
    "k",
    "--role",
    "client",
    "--service",
    "db",
    "--subject",
    "a",
    ...extra,
  ];
  await t.step(
    "role",
    () =>
      usage([
        "token",
        "issue",
        "--signing-key",
        "k",
        "--role",
        "admin",
        "--service",
        "db",
        "--subject",
        "a",
      ], /invalid --role "admin": expected client or connector/),
  );
  await t.step(
    "service id",
    () => usage(issue("--service", "Bad_ID"), /invalid --service "Bad_ID"/),
  );
  await t.step(
    "partial wildcard",
    () => usage(issue("--service", "db*"), /invalid --service "db\*"/),
  );
  await t.step(
    "subject with control characters",
    () => usage(issue().map((a) => (a === "a" ? "a\u0007" : a)), /invalid --subject/),
  );
  await t.step(
    "ttl zero",
    () => usage(issue("--ttl", "0d"), /invalid --ttl "0d": expected a duration longer than zero/),
  );
  await t.step("ttl negative", () => usage(issue("--ttl=-1d"), /invalid --ttl "-1d"/));
  await t.step(
    "ttl too long",
    () => usage(issue("--ttl", "3651d"), /invalid --ttl "3651d": expected at most 3650d/),
  );
  await t.step("ttl without unit", () => usage(issue("--ttl", "30"), /invalid --ttl "30"/));
  await t.step(
    "token id",
    () =>
      usage(["token", "revoke", "--id", "short", "--revocation-file", "r"], /invalid --id "short"/),
  );
  await t.step(
    "key name with a slash",
    () => usage(["keygen", "--out", "k", "--name", "../x"], /invalid --name "..\/x"/),
  );
  await t.step(
    "dev-certs name",
    () =>
      usage(
        ["dev-certs", "--out", "o", "--name", "ok.example", "--name", "not a name"],
        /invalid --name "not a name": expected a DNS name or an IP address/,
      ),
  );
  await t.step(
    "valid days",
    () => usage(["dev-certs", "--out", "o", "--valid-days", "0"], /invalid --valid-days "0"/),
  );
  await t.step(
    "valid days too many",
    () => usage(["dev-certs", "--out", "o", "--valid-days", "900"], /at most 825/),
  );
  await t.step(
    "valid days not a number",
    () => usage(["dev-certs", "--out", "o", "--valid-days", "1y"], /whole number/),
  );
});
