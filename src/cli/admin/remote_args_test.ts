/**
 * Tests of parsing the `ztna admin` commands that call a relay, and the admin-token helpers.
 * @module
 */
import assert from "node:assert/strict";
import { parseAdminArgs } from "./args.ts";
import { ADMIN_TOKEN_HELP, TOKENS_HELP, TOKENS_ISSUE_HELP } from "./help.ts";
import { DEFAULT_ADMIN_URL, isRemoteCommand } from "./remote_args.ts";
import { UsageError } from "../usage_error.ts";

const run = (args: string[]) => {
  const parsed = parseAdminArgs(args);
  assert.equal(parsed.kind, "run");
  return parsed.kind === "run" ? parsed.command : undefined;
};

function usage(args: string[], message: RegExp, hint?: RegExp): void {
  try {
    parseAdminArgs(args);
  } catch (error) {
    assert.ok(error instanceof UsageError);
    assert.match(error.message, message);
    if (hint) assert.match(error.hint ?? "", hint);
    return;
  }
  assert.fail(`expected a usage error for ${args.join(" ")}`);
}

Deno.test("parseAdminArgs() reads remote commands with their defaults", () => {
  assert.deepEqual(run(["connections", "--admin-token-file", "a.token"]), {
    kind: "connections",
    url: DEFAULT_ADMIN_URL,
    adminTokenFile: "a.token",
    json: false,
  });
  assert.deepEqual(
    run([
      "tokens",
      "issue",
      "--admin-token-file=t",
      "--url",
      "https://relay.example.com:9443",
      "--ca",
      "ca.crt",
      "--role",
      "client",
      "--service",
      "web",
      "--service",
      "web",
      "--subject",
      "alice",
      "--ttl",
      "2h",
    ]),
    {
      kind: "tokens-issue",
      url: "https://relay.example.com:9443",
      adminTokenFile: "t",
      ca: "ca.crt",
      json: false,
      role: "client",
      services: ["web"],
      subject: "alice",
      ttlSeconds: 7_200,
    },
  );
  assert.deepEqual(run(["audit", "--admin-token-file", "t", "--limit", "5", "--json"]), {
    kind: "audit",
    url: DEFAULT_ADMIN_URL,
    adminTokenFile: "t",
    json: true,
    limit: 5,
  });
  const kick = run(["kick", "--conn", "0a1b2c3d", "--admin-token-file", "t"]);
  assert.ok(kick && isRemoteCommand(kick));
  assert.deepEqual(run(["admin-token", "create"]), { kind: "admin-token-create" });
  const keygen = run(["keygen", "--out", "k"]);
  assert.ok(keygen && !isRemoteCommand(keygen));
});

Deno.test("parseAdminArgs() refuses bad remote input with a hint", async (t) => {
  await t.step("no admin token file", () => usage(["services"], /missing --admin-token-file/));
  await t.step(
    "a URL with a path",
    () =>
      usage(["services", "--admin-token-file", "t", "--url", "http://h:1/api"], /invalid --url/),
  );
  await t.step(
    "a connection id of the wrong shape",
    () => usage(["kick", "--conn", "xyz", "--admin-token-file", "t"], /invalid --conn "xyz"/),
  );
  await t.step(
    "a limit out of range",
    () => usage(["audit", "--admin-token-file", "t", "--limit", "0"], /invalid --limit/),
  );
  await t.step(
    "an unknown tokens word",
    () => usage(["tokens", "lst"], /unknown command "ztna admin tokens lst"/, /tokens list/),
  );
  await t.step("a missing tokens word", () => usage(["tokens"], /expected list, issue or revoke/));
  await t.step(
    "a near miss at the top",
    () => usage(["conections"], /unknown command/, /ztna admin connections/),
  );
});

Deno.test("parseAdminArgs() gives the help of the new groups and commands", () => {
  assert.deepEqual(parseAdminArgs(["tokens", "--help"]), { kind: "help", text: TOKENS_HELP });
  assert.deepEqual(parseAdminArgs(["admin-token", "-h"]), { kind: "help", text: ADMIN_TOKEN_HELP });
  assert.deepEqual(parseAdminArgs(["tokens", "issue", "--help"]), {
    kind: "help",
    text: TOKENS_ISSUE_HELP,
  });
});
