/**
 * Tests of loading a policy file: errors that name the key, all at once; tests run at load and a
 * failing one refuses the whole policy.
 * @module
 */
import assert from "node:assert/strict";
import { evaluate, loadPolicy } from "./mod.ts";

const NOW = Date.UTC(2026, 2, 2, 10, 0);

const GOOD = `
[groups]
ops = ["carol"]

[[allow]]
name = "eng-web"
groups = ["engineering"]
services = ["web"]

[[deny]]
name = "no-db-contractors"
groups = ["contractors"]
services = ["db"]

[[test]]
identity = "alice"
groups = ["engineering"]
service = "web"
expect = "allow"
rule = "eng-web"

[[test]]
identity = "alice"
service = "db"
expect = "deny"
rule = "no grant"
`;

Deno.test("loadPolicy() loads a valid file and runs its tests", () => {
  const loaded = loadPolicy(GOOD, "policy.toml", NOW);
  assert.ok(loaded.ok);
  assert.equal(loaded.tests, 2);
  const d = evaluate(loaded.policy, { identity: "bob", groups: ["engineering"] }, "web", {
    nowMs: NOW,
  });
  assert.equal(d.rule, "eng-web");
});

Deno.test("loadPolicy() refuses a policy whose test fails, naming the test", () => {
  const loaded = loadPolicy(GOOD.replace('expect = "allow"', 'expect = "deny"'), "p.toml", NOW);
  assert.ok(!loaded.ok);
  assert.deepEqual(loaded.errors, [
    'p.toml: test[0]: expected deny for "alice" → "web", got allow (allow rule "eng-web" grants "web" to group "engineering")',
  ]);
});

Deno.test("loadPolicy() refuses a test that names the wrong deciding rule", () => {
  const loaded = loadPolicy(
    GOOD.replace('rule = "eng-web"', 'rule = "no-db-contractors"'),
    "p",
    NOW,
  );
  assert.ok(!loaded.ok);
  assert.match(
    loaded.errors[0],
    /expected allow by rule "no-db-contractors".*decided by rule "eng-web"/,
  );
});

Deno.test("loadPolicy() names every bad key in one answer", () => {
  const loaded = loadPolicy(
    `
[[allow]]
name = "x"
groups = ["g"]
services = ["Web!"]
colour = "red"
when = { hours = "25:00-26:00", source = ["192.0.2.1/24"], time_zone = "Mars/Olympus" }

[[deny]]
name = "x"
identities = ["bob"]
services = ["db"]

[[test]]
identity = "bob"
service = "db"
expect = "maybe"
rule = "nope"
`,
    "policy.toml",
    NOW,
  );
  assert.ok(!loaded.ok);
  const text = loaded.errors.join("\n");
  for (
    const key of [
      "allow[0].colour: unknown key",
      "allow[0].services[0]:",
      "allow[0].when.hours:",
      "allow[0].when.source[0]: expected no host bits",
      "allow[0].when.time_zone: expected an IANA time zone",
      'deny[0].name: duplicate rule name "x"',
      "test[0].expect:",
      'test[0].rule: no rule is named "nope"',
    ]
  ) assert.ok(text.includes(`policy.toml: ${key}`), `missing ${key} in\n${text}`);
});

Deno.test("loadPolicy() reports invalid TOML with its line", () => {
  const loaded = loadPolicy("[[allow]\nname=", "p.toml", NOW);
  assert.ok(!loaded.ok);
  assert.match(loaded.errors[0], /^p\.toml: line 1, column \d+: invalid TOML/);
});

Deno.test("loadPolicy() uses a test's own moment for time windows", () => {
  const loaded = loadPolicy(
    `
[[allow]]
name = "office"
identities = ["*"]
services = ["web"]
when = { hours = "08:00-18:00" }

[[test]]
identity = "x"
service = "web"
at = 2026-03-02T20:00:00Z
expect = "deny"
`,
    "p",
    NOW,
  );
  assert.ok(loaded.ok, JSON.stringify(loaded));
});
