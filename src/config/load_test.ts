/**
 * Tests of loadRoleConfig(): real files in a temp folder, one mistake per test.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "./config_error.ts";
import { loadRoleConfig, parseConfigText } from "./load.ts";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

const RELAY = `
[intermediate]
listen = "192.0.2.1:4433"
cert = "relay.pem"
key = "relay-key.pem"
token_public_keys = ["signing.pub.pem"]
`;

const CONNECTOR = `
[connector]
relays = [{ address = "relay.example.com:4433" }]
token_file = "connector.token"
[[connector.service]]
id = "web"
backend = "192.0.2.10:8080"
`;

const CLIENT = `
[client]
relays = [{ address = "relay.example.com:4433" }]
[[client.forward]]
listen = "127.0.0.1:8080"
service = "web"
`;

/** A temp folder with the PEM files and token the configs above name. */
async function fixture(): Promise<
  AsyncDisposable & { dir: string; write(name: string, text: string): Promise<string> }
> {
  const dir = await Deno.makeTempDir({ prefix: "ztna-load-" });
  const write = async (name: string, text: string) => {
    const path = join(dir, name);
    await Deno.writeTextFile(path, text);
    return path;
  };
  for (const name of ["relay.pem", "relay-key.pem", "signing.pub.pem", "ca.pem"]) {
    await write(name, PEM);
  }
  await write("connector.token", `${TOKEN}\n`);
  return { dir, write, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

async function loadError(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("loadRoleConfig() returns the intermediate section with absolute paths", async () => {
  await using f = await fixture();
  const path = await f.write("relay.toml", `${RELAY}revocation_file = "not-yet.txt"\n`);
  const loaded = await loadRoleConfig(path, "intermediate", {});
  assert.equal(loaded.role, "intermediate");
  assert.deepEqual(loaded.log, { level: "info", format: "text" });
  if (loaded.role !== "intermediate") return;
  assert.equal(loaded.config.cert, join(f.dir, "relay.pem"));
  assert.equal(loaded.config.key, join(f.dir, "relay-key.pem"));
  assert.deepEqual(loaded.config.token_public_keys, [join(f.dir, "signing.pub.pem")]);
  assert.equal(loaded.config.revocation_file, join(f.dir, "not-yet.txt"));
  assert.equal(loaded.config.state_dir, join(f.dir, "state"));
  assert.equal(loaded.config.limits.max_connections_per_identity, 16);
});

Deno.test("loadRoleConfig() reads the connector token from token_file", async () => {
  await using f = await fixture();
  const path = await f.write("c.toml", CONNECTOR);
  const loaded = await loadRoleConfig(path, "connector", {});
  assert.equal(loaded.role, "connector");
  if (loaded.role !== "connector") return;
  assert.equal(loaded.token, TOKEN);
  assert.equal(loaded.config.token_file, join(f.dir, "connector.token"));
  assert.equal(loaded.config.service[0].backend, "192.0.2.10:8080");
});

Deno.test("loadRoleConfig() prefers ZTNA_TOKEN over token_file", async () => {
  await using f = await fixture();
  const path = await f.write("c.toml", CONNECTOR.replace("connector.token", "absent.token"));
  const loaded = await loadRoleConfig(path, "connector", { ZTNA_TOKEN: "a.b.c" });
  assert.ok(loaded.role === "connector" && loaded.token === "a.b.c");
});

Deno.test("loadRoleConfig() applies ZTNA_LOG_LEVEL and ZTNA_LOG_FORMAT over [log]", async () => {
  await using f = await fixture();
  const path = await f.write("c.toml", `[log]\nlevel = "warning"\n${CLIENT}`);
  const loaded = await loadRoleConfig(path, "client", {
    ZTNA_TOKEN: TOKEN,
    ZTNA_LOG_FORMAT: "json",
  });
  assert.deepEqual(loaded.log, { level: "warning", format: "json" });
  const overridden = await loadRoleConfig(path, "client", {
    ZTNA_TOKEN: TOKEN,
    ZTNA_LOG_LEVEL: "debug",
  });
  assert.equal(overridden.log.level, "debug");
});

Deno.test("loadRoleConfig() reports a missing config file", async () => {
  const error = await loadError(loadRoleConfig("/nonexistent/ztna.toml", "client", {}));
  assert.equal(error.message, "/nonexistent/ztna.toml: cannot read config file (not found)");
});

Deno.test("loadRoleConfig() reports a folder given as config file", async () => {
  await using f = await fixture();
  const error = await loadError(loadRoleConfig(f.dir, "client", {}));
  assert.match(error.message, /: cannot read config file \(is a folder, not a file\)$/);
});

Deno.test("loadRoleConfig() names the missing role section and the one present", async () => {
  await using f = await fixture();
  const path = await f.write("config.toml", RELAY);
  const error = await loadError(loadRoleConfig(path, "connector", {}));
  assert.equal(
    error.message,
    `${path}: connector: section missing (run with --role=connector needs [connector])`,
  );
  assert.equal(error.keyPath, "connector");
  assert.match(error.hint ?? "", /--role=intermediate/);
});

Deno.test("loadRoleConfig() checks the files the intermediate needs", async (t) => {
  await using f = await fixture();
  await t.step("a missing cert", async () => {
    const path = await f.write("r.toml", RELAY.replace('"relay.pem"', '"gone.pem"'));
    const error = await loadError(loadRoleConfig(path, "intermediate", {}));
    assert.equal(error.keyPath, "intermediate.cert");
    assert.equal(
      error.problem,
      `cannot read ${JSON.stringify(join(f.dir, "gone.pem"))} (not found)`,
    );
  });
  await t.step("a folder where the key should be", async () => {
    await Deno.mkdir(join(f.dir, "keydir"));
    const path = await f.write("r.toml", RELAY.replace('"relay-key.pem"', '"keydir"'));
    const error = await loadError(loadRoleConfig(path, "intermediate", {}));
    assert.equal(error.keyPath, "intermediate.key");
    assert.match(error.problem, /is a folder, not a file/);
  });
  await t.step("a public key that is not PEM", async () => {
    await f.write("junk.pem", "not a key");
    const path = await f.write(
      "r.toml",
      RELAY.replace('["signing.pub.pem"]', '["signing.pub.pem", "junk.pem"]'),
    );
    const error = await loadError(loadRoleConfig(path, "intermediate", {}));
    assert.equal(error.keyPath, "intermediate.token_public_keys[1]");
    assert.match(error.problem, /is not a PEM file/);
  });
  await t.step("a revocation file that is a folder", async () => {
    const path = await f.write("r.toml", `${RELAY}revocation_file = "keydir"\n`);
    const error = await loadError(loadRoleConfig(path, "intermediate", {}));
    assert.equal(error.keyPath, "intermediate.revocation_file");
  });
});

Deno.test("loadRoleConfig() requires a token for connector and client", async (t) => {
  await using f = await fixture();
  await t.step("neither token_file nor ZTNA_TOKEN", async () => {
    const path = await f.write("c.toml", CLIENT);
    const error = await loadError(loadRoleConfig(path, "client", { ZTNA_TOKEN: "" }));
    assert.equal(error.keyPath, "client.token_file");
    assert.match(error.problem, /ZTNA_TOKEN/);
  });
  await t.step("a token_file without a token, never echoed", async () => {
    await f.write("bad.token", "secret-looking-but-not-a-jws");
    const path = await f.write("c.toml", CONNECTOR.replace("connector.token", "bad.token"));
    const error = await loadError(loadRoleConfig(path, "connector", {}));
    assert.equal(error.keyPath, "connector.token_file");
    assert.match(error.problem, /^file does not hold a token/);
    assert.doesNotMatch(error.message, /secret-looking/);
  });
  await t.step("a malformed ZTNA_TOKEN, never echoed", async () => {
    const path = await f.write("c.toml", CONNECTOR);
    const error = await loadError(loadRoleConfig(path, "connector", { ZTNA_TOKEN: "oops token" }));
    assert.equal(error.message.split(":")[0], "environment");
    assert.doesNotMatch(error.message, /oops/);
  });
  await t.step("a ca that is not PEM", async () => {
    await f.write("ca-junk.pem", "junk");
    const path = await f.write(
      "c.toml",
      `${CLIENT}`.replace("[client]\n", '[client]\nca = "ca-junk.pem"\n'),
    );
    const error = await loadError(loadRoleConfig(path, "client", { ZTNA_TOKEN: TOKEN }));
    assert.equal(error.keyPath, "client.ca");
  });
});

Deno.test("loadRoleConfig() rejects a bad ZTNA_LOG_LEVEL naming the variable", async () => {
  await using f = await fixture();
  const path = await f.write("c.toml", CLIENT);
  const error = await loadError(
    loadRoleConfig(path, "client", { ZTNA_TOKEN: TOKEN, ZTNA_LOG_LEVEL: "loud" }),
  );
  assert.equal(
    error.message,
    'environment: ZTNA_LOG_LEVEL: expected one of "debug", "info", "warning", "error", got "loud"',
  );
});

Deno.test("parseConfigText() reports invalid TOML with line and column", () => {
  assert.throws(
    () => parseConfigText("bad.toml", '[log]\nlevel = "info\n'),
    (error: unknown) =>
      error instanceof ConfigError &&
      /^bad\.toml: invalid TOML at line 2, column \d+: .+$/.test(error.message),
  );
});

Deno.test("parseConfigText() reports every schema problem, first in message and others in more", () => {
  try {
    parseConfigText("relay.toml", '[intermediate]\nlisten = "4433"\nlsten = "x"\n');
    assert.fail("expected a ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    const lines = [error.message, ...error.more.map((e) => e.message)];
    assert.ok(lines.includes('relay.toml: intermediate.listen: expected host:port, got "4433"'));
    assert.ok(
      lines.includes('relay.toml: intermediate.lsten: unknown key; did you mean "listen"?'),
    );
    assert.ok(
      lines.includes(
        "relay.toml: intermediate.cert: missing required key (give cert and key, or enable " +
          "[intermediate.acme])",
      ),
    );
    assert.ok(lines.every((line) => !line.includes("\n")));
  }
});
