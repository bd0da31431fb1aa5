/**
 * Tests of the help texts.
 * @module
 */
import assert from "node:assert/strict";
import { ENV_VARS } from "../config/mod.ts";
import { helpText } from "./help.ts";

Deno.test("helpText() lists roles, commands, env vars and the precedence rule", () => {
  const text = helpText();
  for (const word of ["intermediate", "connector", "client", "ztna demo", "ztna admin --help"]) {
    assert.ok(text.includes(word), word);
  }
  for (const name of Object.keys(ENV_VARS)) assert.ok(text.includes(name), name);
  assert.match(text, /flag > ZTNA_\* environment variable > config file > built-in default/);
});

Deno.test("helpText() has a page per role and for the demo", () => {
  assert.match(helpText("connector"), /^ztna --role=connector\n/);
  assert.match(helpText("connector"), /\[\[connector\.service\]\]/);
  assert.match(helpText("intermediate"), /token_public_keys/);
  assert.match(helpText("client"), /\[\[client\.forward\]\]/);
  assert.match(helpText("demo"), /^ztna demo:/);
  assert.match(helpText("doctor"), /^ztna doctor:/);
  assert.match(helpText(), /ztna doctor --config/);
});

Deno.test("helpText() keeps lines within 100 columns", () => {
  for (
    const topic of [undefined, "intermediate", "connector", "client", "demo", "doctor"] as const
  ) {
    for (const line of helpText(topic).split("\n")) assert.ok(line.length <= 100, line);
  }
});
