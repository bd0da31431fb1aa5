/**
 * The per-role starting points in examples/ validate as they are, use only the folders the binary
 * may use in production, and a config whose files are all missing is reported in one run.
 * (tests/e2e/docs_deployment_test.ts runs them for real, as the README shows them.)
 * @module
 */
import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { loadRoleConfig, parseConfigText } from "./load.ts";
import { isUnder } from "./permission_set.ts";
import type { Role } from "./schema.ts";

const EXAMPLES = new URL("../../examples/", import.meta.url);
const FILES: Record<string, Role> = {
  "relay.toml": "intermediate",
  "connector.toml": "connector",
  "client.toml": "client",
};

/** Every string value of a parsed TOML document, depth first. */
function strings(node: unknown): string[] {
  if (typeof node === "string") return [node];
  if (typeof node !== "object" || node === null) return [];
  return Object.values(node).flatMap(strings);
}

for (const [name, role] of Object.entries(FILES)) {
  Deno.test(`examples/${name} is a valid ${role} config with only its own section`, async () => {
    const text = await Deno.readTextFile(new URL(name, EXAMPLES));
    const parsed = parseConfigText(name, text);
    const sections = (["intermediate", "connector", "client"] as const).filter((r) =>
      parsed[r] !== undefined
    );
    assert.deepEqual(sections, [role]);
    assert.match(text, new RegExp(`^# /etc/ztna/${name.replace(".", "\\.")}:`));
    for (const value of strings(parsed[role]).filter((v) => v.startsWith("/"))) {
      assert.ok(isUnder(value, ["/etc/ztna", "/var/lib/ztna"]), `${name}: ${value}`);
    }
  });
}

Deno.test("a relay config with every file missing lists all of them in one error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ztna-examples-" });
  try {
    const path = `${dir}/relay.toml`;
    await Deno.writeTextFile(
      path,
      '[intermediate]\ncert = "relay.crt"\nkey = "relay.key"\n' +
        'token_public_keys = ["a.pub", "b.pub"]\n' +
        '[intermediate.admin]\ntoken_hashes_file = "hashes.txt"\n',
    );
    const error = await loadRoleConfig(path, "intermediate", {}).then(
      () => assert.fail("should fail"),
      (e) => e,
    );
    assert.ok(error instanceof ConfigError);
    const lines = [error.message, ...error.more.map((e) => e.message)];
    assert.deepEqual(lines.map((l) => l.split(": ")[1]), [
      "intermediate.cert",
      "intermediate.key",
      "intermediate.token_public_keys[0]",
      "intermediate.token_public_keys[1]",
    ]);
    // The admin hash file may not exist yet, like the revocation file.
    assert.ok(!lines.some((l) => l.includes("hashes.txt")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two client forwards on one address are refused at validation", () => {
  const text = '[client]\nrelays = [{ address = "relay.example.com:4433" }]\n' +
    '[[client.forward]]\nlisten = "127.0.0.1:8080"\nservice = "web"\n' +
    '[[client.forward]]\nlisten = "127.0.0.1:8080"\nservice = "db"\n' +
    '[[client.forward]]\nlisten = "127.0.0.1:8080"\nservice = "dns"\nprotocol = "udp"\n';
  const error = (() => {
    try {
      parseConfigText("client.toml", text);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof ConfigError);
  assert.equal(
    error.message,
    "client.toml: client.forward[1].listen: tcp 127.0.0.1:8080 is already the listen address of " +
      'client.forward[0]; give each forward its own port, got "127.0.0.1:8080"',
  );
  assert.equal(error.more.length, 0, "udp on the same port is another socket");
});
