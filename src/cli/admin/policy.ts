/**
 * `ztna admin policy test|explain`: the access policy offline. `test` loads a policy file as the
 * relay does (schema, then the file's own tests) and lists every problem; `explain` answers one
 * access — allow or deny, and the rule that decided — for an identity, its groups, a service, and
 * optionally a source address and a moment. Both read the file the relay reads (`--config` finds
 * its `policy_file`) or any file (`--policy`), so a change can be checked before the relay sees it.
 * @module
 */
import { resolve } from "node:path";
import { z } from "zod";
import { evaluate, GroupName, loadPolicy, parseAddress, PolicyIdentity } from "../../policy/mod.ts";
import { ServiceId } from "../../protocol/service_id.ts";
import { ConfigError, parseConfigText, readConfigText } from "../../config/mod.ts";
import { resolveIntermediatePaths } from "../../config/paths.ts";
import { type AdminDeps, AdminFailure } from "./commands.ts";
import type { CommandSpec } from "./spec.ts";

const Path = z.string().min(1, "expected a path");

/** `ztna admin policy test`. */
export const PolicyTestCommand = z.strictObject({
  kind: z.literal("policy-test"),
  policy: Path.optional(),
  config: Path.optional(),
});

/** `ztna admin policy explain`. */
export const PolicyExplainCommand = z.strictObject({
  kind: z.literal("policy-explain"),
  policy: Path.optional(),
  config: Path.optional(),
  identity: PolicyIdentity,
  service: ServiceId,
  groups: z.array(GroupName).max(1_000).default([]),
  source: z.string().refine((s) => parseAddress(s) !== undefined, {
    message: "expected an IPv4 or IPv6 address",
  }).optional(),
  at: z.string().refine((s) => Number.isFinite(Date.parse(s)), {
    message: "expected a date-time such as 2026-03-02T09:00:00Z",
  }).optional(),
});

export type PolicyCommand =
  | z.output<typeof PolicyTestCommand>
  | z.output<typeof PolicyExplainCommand>;

/** `ztna admin policy --help`. */
export const POLICY_HELP = `Usage: ztna admin policy test|explain [flags]

The relay's access policy (intermediate.policy_file), checked offline:
  test      load a policy file as the relay does and run its [[test]] entries
  explain   decide one access and name the rule that decided it

Run "ztna admin policy <command> --help" for the flags.
`;

/** `ztna admin policy test --help`. */
export const POLICY_TEST_HELP =
  `Usage: ztna admin policy test (--policy <file> | --config <relay.toml>)

Loads a policy file exactly as the relay does — TOML, every key checked, then the file's own
[[test]] entries — and prints every problem, one per line. Exit status 0 when the relay would
take it, 1 when it would refuse it (and keep its current policy).

  --policy <file>        the policy file
  --config <relay.toml>  the relay's config: test its intermediate.policy_file
  -h, --help             this help
`;

/** `ztna admin policy explain --help`. */
export const POLICY_EXPLAIN_HELP =
  `Usage: ztna admin policy explain --identity <id> --service <service>
         (--policy <file> | --config <relay.toml>) [--group <g>]... [--source <ip>] [--at <time>]

Decides one access under a policy file and prints allow or deny, the rule that decided ("no
grant" when no rule granted) and why. Deny rules win over allow rules; without a grant the
answer is deny. Groups a person's login brings come from the identity provider: give them
with --group (the file's own [groups] are added). A machine token's own service list must
also allow the service; this command decides the policy half.

  --identity <id>        a token's subject, or a person's identity after ztna login
  --service <service>    the service id
  --group <g>            a group from the identity provider (repeatable)
  --source <ip>          the peer's address, for rules with when.source
  --at <time>            the moment, e.g. 2026-03-02T09:00:00Z (default: now)
  --policy <file>        the policy file
  --config <relay.toml>  the relay's config: use its intermediate.policy_file
  -h, --help             this help
`;

const SOURCE_FLAGS = {
  "--policy": { field: "policy", type: "value" },
  "--config": { field: "config", type: "value" },
} as const;

/** The parser's table for the two commands. */
export const POLICY_COMMAND_SPECS: readonly CommandSpec<PolicyCommand["kind"]>[] = [
  {
    kind: "policy-test",
    words: "policy test",
    help: POLICY_TEST_HELP,
    flags: { ...SOURCE_FLAGS },
    oneOf: [["--policy", "--config"]],
  },
  {
    kind: "policy-explain",
    words: "policy explain",
    help: POLICY_EXPLAIN_HELP,
    flags: {
      ...SOURCE_FLAGS,
      "--identity": { field: "identity", type: "value", required: true },
      "--service": { field: "service", type: "value", required: true },
      "--group": { field: "groups", type: "list" },
      "--source": { field: "source", type: "value" },
      "--at": { field: "at", type: "value" },
    },
    oneOf: [["--policy", "--config"]],
  },
];

/** The policy file named by `--policy`, or the relay config's `policy_file`. */
async function policyPath(command: PolicyCommand): Promise<string> {
  if (command.policy !== undefined) return command.policy;
  const configPath = command.config ?? "";
  let relay;
  try {
    relay = parseConfigText(configPath, await readConfigText(configPath)).intermediate;
  } catch (error) {
    if (error instanceof ConfigError) throw new AdminFailure(error.message, { cause: error });
    throw error;
  }
  const path = relay === undefined
    ? undefined
    : resolveIntermediatePaths(relay, resolve(configPath, "..")).policy_file;
  if (path === undefined) {
    throw new AdminFailure(`${configPath}: intermediate.policy_file is not set`, {
      hint: "without a policy the relay decides by token grants alone; pass --policy <file>",
    });
  }
  return path;
}

async function readPolicy(command: PolicyCommand, now: number) {
  const path = await policyPath(command);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new AdminFailure(`Cannot read policy file ${path}: ${error}`, { cause: error });
  }
  return { path, loaded: loadPolicy(text, path, now) };
}

/** Runs `policy test` or `policy explain`; resolves with the exit status. */
export async function runPolicyCommand(
  command: PolicyCommand,
  { io, now }: AdminDeps,
): Promise<number> {
  const { path, loaded } = await readPolicy(command, now());
  if (!loaded.ok) {
    for (const line of loaded.errors) io.err(line);
    io.err(
      `ztna admin: ${path}: refused (${loaded.errors.length} problems); a relay keeps its ` +
        "current policy instead of this one",
    );
    return 1;
  }
  if (command.kind === "policy-test") {
    const { allow, deny } = loaded.policy.file;
    io.out(
      `${path}: ok: ${allow.length} allow and ${deny.length} deny rules, ${loaded.tests} tests passed`,
    );
    return 0;
  }
  const nowMs = command.at === undefined ? now() : Date.parse(command.at);
  const d = evaluate(
    loaded.policy,
    { identity: command.identity, groups: command.groups },
    command.service,
    {
      nowMs,
      ...(command.source === undefined ? {} : { source: command.source }),
    },
  );
  io.out(`${d.allow ? "allow" : "deny"}: rule ${JSON.stringify(d.rule ?? "no grant")}`);
  io.out(`  ${d.why}`);
  return 0;
}
