/**
 * From policy text to a usable {@link Policy}: TOML, the schema (every problem named by file and
 * key, all of them in one answer), then the file's own tests. A policy whose tests fail is refused
 * as a whole, so the caller keeps the one it has. Pure: the text and the moment are inputs.
 * @module
 */
import { parse, TomlError } from "smol-toml";
import type { z } from "zod";
import { compilePolicy, evaluate, type Policy, ruleLabel } from "./evaluate.ts";
import { NO_GRANT, PolicyFile, type PolicyTest } from "./policy_file.ts";

/** The outcome of {@link loadPolicy}: a policy, or every problem found (one line each). */
export type LoadedPolicy =
  | { ok: true; policy: Policy; tests: number }
  | { ok: false; errors: string[] };

/** A test that did not get its expected decision. */
export interface TestFailure {
  index: number;
  problem: string;
}

/** `allow[0].when.hours`: a zod path as a TOML key path. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else {
      const name = String(part);
      const bare = /^[A-Za-z0-9_-]+$/.test(name) ? name : JSON.stringify(name);
      out += out ? `.${bare}` : bare;
    }
  }
  return out;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 60));
  if (Array.isArray(value)) return "an array";
  if (value === null || value === undefined) return "nothing";
  if (typeof value === "object") return "a table";
  return String(value);
}

/** Operator wording for zod's built-in checks; messages written in the schema win. */
const errorMap: z.core.$ZodErrorMap = (issue) => {
  const got = `got ${describe(issue.input)}`;
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined
        ? "missing required key"
        : `expected ${issue.expected}, ${got}`;
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, ${got}`;
    case "too_small":
      return `expected at least ${issue.minimum} entries`;
    case "too_big":
      return `expected at most ${issue.maximum} entries`;
    case "unrecognized_keys":
      return "unknown key";
    default:
      return undefined;
  }
};

function issueLines(label: string, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((k) => `${label}: ${formatKeyPath([...issue.path, k])}: unknown key`);
    }
    const key = formatKeyPath(issue.path);
    let problem = issue.message;
    const input = issue.input;
    if (
      ["string", "number", "boolean"].includes(typeof input) && !problem.includes(describe(input))
    ) problem += `, got ${describe(input)}`;
    return [`${label}: ${key ? `${key}: ` : ""}${problem}`];
  });
}

/** Runs the file's tests against `policy`; returns the failures (none when all pass). */
export function runPolicyTests(
  policy: Policy,
  tests: readonly PolicyTest[],
  nowMs: number,
): TestFailure[] {
  const failures: TestFailure[] = [];
  for (const [index, t] of tests.entries()) {
    const d = evaluate(policy, { identity: t.identity, groups: t.groups }, t.service, {
      nowMs: t.at ?? nowMs,
      ...(t.source === undefined ? {} : { source: t.source }),
    });
    const got = d.allow ? "allow" : "deny";
    const what = `"${t.identity}" → "${t.service}"`;
    if (got !== t.expect) {
      failures.push({
        index,
        problem: `expected ${t.expect} for ${what}, got ${got} (${d.why})`,
      });
    } else if (t.rule !== undefined && t.rule !== ruleLabel(d)) {
      failures.push({
        index,
        problem: `expected ${t.expect} by rule "${t.rule}" for ${what}, decided by ` +
          (d.rule === undefined ? NO_GRANT : `rule "${d.rule}"`),
      });
    }
  }
  return failures;
}

/**
 * Parses, validates and tests a policy file's text.
 * @param label the file's name in messages
 * @param nowMs the moment tests without `at` are decided at
 */
export function loadPolicy(text: string, label: string, nowMs: number): LoadedPolicy {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    const where = error instanceof TomlError ? `line ${error.line}, column ${error.column}: ` : "";
    const first = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return { ok: false, errors: [`${label}: ${where}invalid TOML: ${first}`] };
  }
  const parsed = PolicyFile.safeParse(raw, { error: errorMap, reportInput: true });
  if (!parsed.success) return { ok: false, errors: issueLines(label, parsed.error.issues) };
  const policy = compilePolicy(parsed.data);
  const failures = runPolicyTests(policy, parsed.data.test, nowMs);
  if (failures.length > 0) {
    return {
      ok: false,
      errors: failures.map((f) => `${label}: test[${f.index}]: ${f.problem}`),
    };
  }
  return { ok: true, policy, tests: parsed.data.test.length };
}
