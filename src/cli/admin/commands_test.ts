/**
 * Tests of runAdmin() in-process: real files in a temp folder, output captured.
 * @module
 */
import assert from "node:assert/strict";
import { importPublicKeys, parseRevocationList, TokenVerifier } from "../../auth/mod.ts";
import { runAdmin } from "./mod.ts";

const NOW_MS = Date.UTC(2030, 0, 1);
const ID = "AAAAAAAAAAAAAAAAAAAAAA";

interface Captured {
  code: number;
  out: string[];
  err: string[];
}

async function admin(...args: string[]): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAdmin(args, {
    io: { out: (l) => out.push(l), err: (l) => err.push(l) },
    now: () => NOW_MS,
  });
  return { code, out, err };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ztna-admin-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const mode = async (path: string) => ((await Deno.stat(path)).mode ?? 0) & 0o777;

Deno.test("runAdmin() keygen writes a 0600 private key and a public key, and refuses to overwrite", async () => {
  await withDir(async (dir) => {
    const first = await admin("keygen", "--out", `${dir}/keys`);
    assert.equal(first.code, 0, first.err.join("\n"));
    assert.match(first.out[0], /^kid [A-Za-z0-9_-]{43}$/);
    assert.deepEqual(first.out.slice(1), [
      `private key ${dir}/keys/token-signing.key`,
      `public key ${dir}/keys/token-signing.pub`,
    ]);
    assert.equal(await mode(`${dir}/keys/token-signing.key`), 0o600);
    assert.match(await Deno.readTextFile(`${dir}/keys/token-signing.pub`), /BEGIN PUBLIC KEY/);
    assert.ok(
      ![...first.out, ...first.err].some((l) => l.includes("PRIVATE KEY")),
      "keys are never printed",
    );

    const before = await Deno.readTextFile(`${dir}/keys/token-signing.key`);
    const again = await admin("keygen", "--out", `${dir}/keys`);
    assert.equal(again.code, 1);
    assert.match(
      again.err[0],
      /^ztna admin: Cannot write key: ".*token-signing\.key" already exists$/,
    );
    assert.match(again.err[1], /--force/);
    assert.equal(await Deno.readTextFile(`${dir}/keys/token-signing.key`), before);

    const forced = await admin("keygen", "--out", `${dir}/keys`, "--force");
    assert.equal(forced.code, 0);
    assert.notEqual(forced.out[0], first.out[0]);
    assert.equal(await mode(`${dir}/keys/token-signing.key`), 0o600);
  });
});

Deno.test("runAdmin() token issue prints a token the relay's verifier accepts", async () => {
  await withDir(async (dir) => {
    await admin("keygen", "--out", dir, "--name", "k");
    const issued = await admin(
      "token",
      "issue",
      "--signing-key",
      `${dir}/k.key`,
      "--role",
      "connector",
      "--service",
      "db",
      "--service",
      "web",
      "--subject",
      "dc-1",
      "--ttl",
      "2h",
    );
    assert.equal(issued.code, 0, issued.err.join("\n"));
    assert.equal(issued.out.length, 1);
    const token = issued.out[0];
    const keys = await importPublicKeys([{
      path: `${dir}/k.pub`,
      pem: await Deno.readTextFile(`${dir}/k.pub`),
    }]);
    const result = await new TokenVerifier(keys).verify(token, NOW_MS);
    assert.ok(result.ok);
    assert.deepEqual(result.identity.services, ["db", "web"]);
    assert.equal(result.identity.role, "connector");
    assert.equal(result.identity.expiresAtMs, NOW_MS + 2 * 3_600_000);
    assert.equal(issued.err.length, 1);
    assert.equal(
      issued.err[0].replace(/, key \S+\)$/, ")"),
      `issued token ${result.identity.tokenId} for dc-1 (role connector, services db,web, expires 2030-01-01T02:00:00.000Z, ttl 2h)`,
    );
    assert.ok(!issued.err[0].includes(token));
  });
});

Deno.test("runAdmin() token issue --out writes the token with mode 0600 and prints only its id", async () => {
  await withDir(async (dir) => {
    await admin("keygen", "--out", dir);
    const key = `${dir}/token-signing.key`;
    const issued = await admin(
      "token",
      "issue",
      "--signing-key",
      key,
      "--role",
      "client",
      "--service",
      "*",
      "--subject",
      "ci",
      "--out",
      `${dir}/ci.token`,
    );
    assert.equal(issued.code, 0, issued.err.join("\n"));
    assert.match(issued.out[0], /^[A-Za-z0-9_-]{22}$/);
    const token = (await Deno.readTextFile(`${dir}/ci.token`)).trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(await mode(`${dir}/ci.token`), 0o600);
    assert.ok(![...issued.out, ...issued.err].some((l) => l.includes(token)));
  });
});

Deno.test("runAdmin() token issue names the file when the signing key is unusable", async () => {
  await withDir(async (dir) => {
    await admin("keygen", "--out", dir);
    const pub = await admin(
      "token",
      "issue",
      "--signing-key",
      `${dir}/token-signing.pub`,
      "--role",
      "client",
      "--service",
      "db",
      "--subject",
      "a",
    );
    assert.equal(pub.code, 1);
    assert.match(pub.err[0], /^ztna admin: .*token-signing\.pub: expected an Ed25519 private key/);
    const missing = await admin(
      "token",
      "issue",
      "--signing-key",
      `${dir}/nope.key`,
      "--role",
      "client",
      "--service",
      "db",
      "--subject",
      "a",
    );
    assert.equal(missing.code, 1);
    assert.match(missing.err[0], /^ztna admin: Cannot read signing key ".*nope\.key": not found$/);
  });
});

Deno.test("runAdmin() token revoke creates the list, appends and is idempotent", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/state/revoked.txt`;
    const first = await admin(
      "token",
      "revoke",
      "--id",
      ID,
      "--revocation-file",
      file,
      "--reason",
      "lost\nlaptop",
    );
    assert.equal(first.code, 0, first.err.join("\n"));
    assert.deepEqual(first.out, [`revoked token ${ID} in ${file}`]);
    const text = await Deno.readTextFile(file);
    assert.match(text, /^# ztna revocation list/);
    assert.match(text, new RegExp(`^${ID}  # 2030-01-01T00:00:00.000Z lost laptop$`, "m"));

    const again = await admin("token", "revoke", "--id", ID, "--revocation-file", file);
    assert.equal(again.code, 0);
    assert.match(again.out[0], /already revoked/);
    assert.equal(await Deno.readTextFile(file), text);

    await Deno.writeTextFile(file, "BBBBBBBBBBBBBBBBBBBBBB", { append: true }); // hand-edited, no final newline
    const second = "CCCCCCCCCCCCCCCCCCCCCC";
    assert.equal(
      (await admin("token", "revoke", "--id", second, "--revocation-file", file)).code,
      0,
    );
    const list = parseRevocationList(await Deno.readTextFile(file));
    assert.deepEqual([...list.ids], [ID, "BBBBBBBBBBBBBBBBBBBBBB", second]);
    assert.deepEqual(list.errors, []);
  });
});

Deno.test("runAdmin() token revoke --config writes the relay's own revocation_file", async () => {
  await withDir(async (dir) => {
    // Relative in the config: the relay resolves it against the config's folder, not the cwd.
    await Deno.mkdir(`${dir}/etc`);
    await Deno.writeTextFile(
      `${dir}/etc/relay.toml`,
      '[intermediate]\ncert = "c.pem"\nkey = "k.pem"\ntoken_public_keys = ["t.pub"]\n' +
        'revocation_file = "../var/revoked.txt"\n',
    );
    const done = await admin("token", "revoke", "--id", ID, "--config", `${dir}/etc/relay.toml`);
    assert.equal(done.code, 0, done.err.join("\n"));
    assert.deepEqual(done.out, [`revoked token ${ID} in ${dir}/var/revoked.txt`]);
    assert.match(done.err[0], /re-reads .*revoked\.txt within its revocation_poll_ms/);
    assert.ok(parseRevocationList(await Deno.readTextFile(`${dir}/var/revoked.txt`)).ids.has(ID));

    await Deno.writeTextFile(
      `${dir}/etc/bare.toml`,
      '[intermediate]\ncert = "c.pem"\nkey = "k.pem"\ntoken_public_keys = ["t.pub"]\n',
    );
    const none = await admin("token", "revoke", "--id", ID, "--config", `${dir}/etc/bare.toml`);
    assert.equal(none.code, 1);
    assert.match(none.err[0], /revocation_file is not set, so the relay reads no revocation file/);
    assert.match(none.err[1], /hint: set revocation_file = /);
  });
});

Deno.test("runAdmin() dev-certs writes the four files and says what to trust", async () => {
  await withDir(async (dir) => {
    const result = await admin("dev-certs", "--out", `${dir}/dev`, "--name", "relay.example.com");
    assert.equal(result.code, 0, result.err.join("\n"));
    assert.equal(await mode(`${dir}/dev/ca.key`), 0o600);
    assert.equal(await mode(`${dir}/dev/relay.key`), 0o600);
    assert.match(result.out[0], /ca\.crt \(new\)$/);
    assert.match(result.out[2], /relay\.example\.com/);
    assert.ok(result.err.some((l) => l.includes(`ca = "${dir}/dev/ca.crt"`)));
    const again = await admin("dev-certs", "--out", `${dir}/dev`);
    assert.match(again.out[0], /ca\.crt \(kept\)$/);
  });
});

Deno.test("runAdmin() exits 2 on usage errors and 0 on help", async () => {
  const bad = await admin("keygen", "--bogus");
  assert.equal(bad.code, 2);
  assert.match(bad.err[0], /^ztna admin: unknown flag "--bogus"/);
  assert.match(bad.err[1], /^ztna admin: hint: /);
  const help = await admin("token", "issue", "--help");
  assert.equal(help.code, 0);
  assert.match(help.out[0], /^Usage: ztna admin token issue/);
});
