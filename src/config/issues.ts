/**
 * Turns zod issues into operator-friendly config errors: `expected a number, got "abc"`, one error
 * per unknown key with a "did you mean" hint, key paths like `connector.service[0].backend`.
 * Pure: no I/O.
 * @module
 */
import type { z } from "zod";
import { closestMatch } from "./closest.ts";
import { ConfigError } from "./config_error.ts";
import { keysAt } from "./_schema_walk.ts";

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  array: "an array",
  object: "a table",
  date: "a date",
};

const MAX_SHOWN = 60;

/** Describes a config value for a message: strings quoted, tables and arrays by kind. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") {
    const shown = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
    return JSON.stringify(shown);
  }
  if (value instanceof Date) return "a date";
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "a table";
  if (value === undefined) return "nothing";
  return String(value);
}

function bound(issue: { inclusive?: boolean }, strict: string, inclusive: string): string {
  return issue.inclusive === false ? strict : inclusive;
}

/**
 * zod error map for config parsing: words the built-in checks for operators. Messages written in
 * the schema (`.min(1, "…")`) take precedence over it.
 */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  const got = `got ${describeValue(issue.input)}`;
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "missing required key";
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, ${got}`;
    case "too_small":
      if (issue.origin === "string") return `expected a non-empty string, ${got}`;
      if (issue.origin === "array") return `expected at least ${issue.minimum} entries, ${got}`;
      return `expected a number ${bound(issue, ">", "≥")} ${issue.minimum}, ${got}`;
    case "too_big":
      if (issue.origin === "string") return `expected at most ${issue.maximum} characters`;
      if (issue.origin === "array") return `expected at most ${issue.maximum} entries`;
      return `expected a number ${bound(issue, "<", "≤")} ${issue.maximum}, ${got}`;
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, ${got}`;
    case "invalid_format":
      return `expected ${issue.format} format, ${got}`;
    case "unrecognized_keys":
      return "unknown key";
    default:
      return undefined;
  }
};

/** Formats a zod path as a TOML key path: `connector.service[0].backend`. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") {
      out += `[${part}]`;
    } else {
      const name = String(part);
      const bare = /^[A-Za-z0-9_-]+$/.test(name) ? name : JSON.stringify(name);
      out += out ? `.${bare}` : bare;
    }
  }
  return out;
}

function isPrimitive(value: unknown): value is string | number | boolean {
  return ["string", "number", "boolean"].includes(typeof value);
}

/** One problem per line: unknown keys are split, schema messages get the offending value. */
function toErrors(file: string, issue: z.core.$ZodIssue, schema: z.core.$ZodType): ConfigError[] {
  if (issue.code === "unrecognized_keys") {
    const known = keysAt(schema, issue.path);
    return issue.keys.map((key) => {
      const suggestion = closestMatch(key, known);
      const problem = suggestion
        ? `unknown key; did you mean "${suggestion}"?`
        : issue.path.length === 0
        ? `unknown key; sections are ${known.map((k) => `[${k}]`).join(", ")}`
        : "unknown key";
      return new ConfigError({ file, keyPath: formatKeyPath([...issue.path, key]), problem });
    });
  }
  let problem = issue.message;
  if (isPrimitive(issue.input) && !problem.includes(describeValue(issue.input))) {
    problem += `, got ${describeValue(issue.input)}`;
  }
  const keyPath = formatKeyPath(issue.path) || undefined;
  return [new ConfigError({ file, keyPath, problem })];
}

/**
 * Builds the error thrown for a failed parse: the first problem, with the others in `more`.
 * Parse with `{ error: configErrorMap, reportInput: true }` so values can be quoted.
 */
export function issuesToError(
  file: string,
  issues: readonly z.core.$ZodIssue[],
  schema: z.core.$ZodType,
): ConfigError {
  const all = issues.flatMap((issue) => toErrors(file, issue, schema));
  const [first, ...more] = all;
  if (first === undefined) return new ConfigError({ file, problem: "invalid configuration" });
  return new ConfigError({ file, keyPath: first.keyPath, problem: first.problem, more });
}
