/**
 * Tests of zod issue formatting: key paths, human type errors, unknown keys with hints.
 * @module
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { configErrorMap, describeValue, formatKeyPath, issuesToError } from "./issues.ts";
import { ConfigFile } from "./schema.ts";

function problems(schema: z.ZodType, input: unknown): string[] {
  const result = schema.safeParse(input, { error: configErrorMap, reportInput: true });
  assert.ok(!result.success);
  const error = issuesToError("f.toml", result.error.issues, schema);
  return [error, ...error.more].map((e) => e.message);
}

Deno.test("formatKeyPath() joins keys with dots and indexes arrays", () => {
  assert.equal(
    formatKeyPath(["connector", "service", 0, "backend"]),
    "connector.service[0].backend",
  );
  assert.equal(formatKeyPath(["a.b", "c"]), '"a.b".c');
  assert.equal(formatKeyPath([]), "");
});

Deno.test("describeValue() quotes strings and names tables and arrays", () => {
  assert.equal(describeValue("abc"), '"abc"');
  assert.equal(describeValue(4433), "4433");
  assert.equal(describeValue([]), "an empty array");
  assert.equal(describeValue({}), "a table");
  assert.equal(describeValue(new Date(0)), "a date");
  assert.equal(describeValue("x".repeat(100)), `"${"x".repeat(60)}…"`);
});

Deno.test("issuesToError() words type errors as expected/got", () => {
  const schema = z.strictObject({ port: z.number(), on: z.boolean(), name: z.string() });
  assert.deepEqual(problems(schema, { port: "abc", on: 1, name: "n" }), [
    'f.toml: port: expected a number, got "abc"',
    "f.toml: on: expected true or false, got 1",
  ]);
  assert.deepEqual(problems(schema, { port: 1, on: true }), ["f.toml: name: missing required key"]);
});

Deno.test("issuesToError() words ranges, enums and schema messages with the value", () => {
  const schema = z.strictObject({
    ms: z.number().int().min(1).max(10),
    level: z.enum(["a", "b"]),
    id: z.string().regex(/^[a-z]+$/, "expected lower-case letters"),
  });
  assert.deepEqual(problems(schema, { ms: 0, level: "c", id: "A" }), [
    "f.toml: ms: expected a number ≥ 1, got 0",
    'f.toml: level: expected one of "a", "b", got "c"',
    'f.toml: id: expected lower-case letters, got "A"',
  ]);
  assert.deepEqual(problems(schema, { ms: 11, level: "a", id: "a" }), [
    "f.toml: ms: expected a number ≤ 10, got 11",
  ]);
  assert.deepEqual(problems(schema, { ms: 1.5, level: "a", id: "a" }), [
    "f.toml: ms: expected an integer, got 1.5",
  ]);
});

Deno.test("issuesToError() gives one error per unknown key, with a suggestion when close", () => {
  const got = problems(ConfigFile, { relay: {}, log: { levle: "info", colour: true } });
  assert.deepEqual(got.toSorted(), [
    "f.toml: log.colour: unknown key",
    'f.toml: log.levle: unknown key; did you mean "level"?',
    "f.toml: relay: unknown key; sections are [log], [intermediate], [connector], [client]",
  ]);
});

Deno.test("issuesToError() reports nested array entries by index", () => {
  const input = {
    connector: {
      relays: [{ address: "relay.example.com:4433" }],
      service: [{ id: "web", backend: "192.0.2.1:80" }, { id: "db", backend: "192.0.2.1" }],
    },
  };
  assert.deepEqual(problems(ConfigFile, input), [
    'f.toml: connector.service[1].backend: expected host:port, got "192.0.2.1"',
  ]);
});
