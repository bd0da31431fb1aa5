import assert from "node:assert/strict";
import fc from "fast-check";
import { ConfigError } from "./config_error.ts";
import { parseConfigText } from "./load.ts";

/** Either a parsed config or a ConfigError naming the file; nothing else may escape. */
function outcome(text: string): "ok" | "config_error" {
  try {
    parseConfigText("fuzz.toml", text);
    return "ok";
  } catch (e) {
    assert.ok(e instanceof ConfigError, `unexpected ${e instanceof Error ? e.name : typeof e}`);
    assert.match(e.message, /^fuzz\.toml: /);
    assert.doesNotMatch(e.message, /\n\s+at /, "no stack trace in the message");
    return "config_error";
  }
}

Deno.test("parseConfigText() answers arbitrary text with a config or a ConfigError", () => {
  fc.assert(fc.property(fc.string({ maxLength: 400 }), (text) => void outcome(text)), {
    numRuns: 500,
  });
});

Deno.test("parseConfigText() answers arbitrary bytes decoded as text with a config or a ConfigError", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 400 }),
      (bytes) => void outcome(new TextDecoder().decode(bytes)),
    ),
    { numRuns: 300 },
  );
});

Deno.test("parseConfigText() answers mutated valid configs with a config or a ConfigError", () => {
  const base =
    `[log]\nlevel = "info"\n[client]\nrelays = [{ address = "relay.example.com:4433" }]\n` +
    `token_file = "t"\n[[client.forward]]\nlisten = "127.0.0.1:8080"\nservice = "web"\n`;
  assert.equal(outcome(base), "ok");
  fc.assert(
    fc.property(fc.nat(base.length - 1), fc.string({ maxLength: 8 }), (at, insert) => {
      void outcome(base.slice(0, at) + insert + base.slice(at + 1));
    }),
    { numRuns: 500 },
  );
});
