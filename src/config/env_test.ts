/**
 * Tests of the ZTNA_* overrides.
 * @module
 */
import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { applyLogEnv, envValue } from "./env.ts";

const FILE = { level: "warning", format: "text" } as const;

Deno.test("applyLogEnv() keeps the file's values when no variable is set", () => {
  assert.deepEqual(applyLogEnv(FILE, {}), FILE);
  assert.deepEqual(applyLogEnv(FILE, { ZTNA_LOG_LEVEL: "", ZTNA_LOG_FORMAT: "" }), FILE);
});

Deno.test("applyLogEnv() lets each variable override its key", () => {
  assert.deepEqual(applyLogEnv(FILE, { ZTNA_LOG_LEVEL: "debug" }), {
    level: "debug",
    format: "text",
  });
  assert.deepEqual(applyLogEnv(FILE, { ZTNA_LOG_FORMAT: "json" }), {
    level: "warning",
    format: "json",
  });
});

Deno.test("applyLogEnv() rejects an unknown value naming the variable", () => {
  assert.throws(
    () => applyLogEnv(FILE, { ZTNA_LOG_FORMAT: "xml" }),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message === 'environment: ZTNA_LOG_FORMAT: expected one of "text", "json", got "xml"',
  );
});

Deno.test("envValue() treats an empty variable as unset", () => {
  assert.equal(envValue({ ZTNA_CONFIG: "" }, "ZTNA_CONFIG"), undefined);
  assert.equal(envValue({ ZTNA_CONFIG: "a.toml" }, "ZTNA_CONFIG"), "a.toml");
});
