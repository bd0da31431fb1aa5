/**
 * `ztna admin` as a real process with the shipped permission set (-P=ztna): keys, tokens,
 * revocation and dev certificates, checked with the same library code the relay uses.
 * @module
 */
import assert from "node:assert/strict";
import { importPublicKeys, parseRevocationList, TokenVerifier } from "../../src/auth/mod.ts";
import { readCertificateInfo } from "../../src/pki/mod.ts";
import { runZtna, tempDir } from "../_helpers/ztna_process.ts";

const mode = async (path: string) => ((await Deno.stat(path)).mode ?? 0) & 0o777;

Deno.test("ztna admin keygen, token issue and token revoke work end to end", async () => {
  await using dir = await tempDir("admin");
  const keys = `${dir.path}/keys`;

  const keygen = await runZtna(["admin", "keygen", "--out", keys]);
  assert.equal(keygen.code, 0, keygen.stderr);
  const kid = keygen.stdout.match(/^kid (\S+)$/m)?.[1];
  assert.ok(kid, keygen.stdout);
  assert.equal(await mode(`${keys}/token-signing.key`), 0o600);
  assert.doesNotMatch(keygen.stdout + keygen.stderr, /PRIVATE KEY/);

  const issue = await runZtna([
    "admin",
    "token",
    "issue",
    "--signing-key",
    `${keys}/token-signing.key`,
    "--role",
    "client",
    "--service",
    "db",
    "--subject",
    "alice",
    "--ttl",
    "1h",
  ]);
  assert.equal(issue.code, 0, issue.stderr);
  const token = issue.stdout.trim();
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.match(
    issue.stderr,
    /issued token [\w-]{22} for alice \(role client, services db, expires \S+Z/,
  );
  assert.ok(!issue.stderr.includes(token), "the token goes to stdout only");

  const pub = [{
    path: `${keys}/token-signing.pub`,
    pem: await Deno.readTextFile(`${keys}/token-signing.pub`),
  }];
  const verifier = new TokenVerifier(await importPublicKeys(pub));
  assert.deepEqual(verifier.keyIds, [kid]);
  const verified = await verifier.verify(token, Date.now());
  assert.ok(verified.ok, verified.ok ? "" : verified.why);
  assert.equal(verified.identity.subject, "alice");
  assert.deepEqual(verified.identity.services, ["db"]);

  const list = `${dir.path}/revoked.txt`;
  const revokeArgs = [
    "admin",
    "token",
    "revoke",
    "--id",
    verified.identity.tokenId,
    "--revocation-file",
    list,
  ];
  const revoke = await runZtna([...revokeArgs, "--reason", "test"]);
  assert.equal(revoke.code, 0, revoke.stderr);
  const again = await runZtna(revokeArgs);
  assert.equal(again.code, 0, again.stderr);
  const parsed = parseRevocationList(await Deno.readTextFile(list));
  assert.deepEqual([...parsed.ids], [verified.identity.tokenId]);
  assert.deepEqual(parsed.errors, []);
  verifier.setRevoked(parsed.ids);
  const refused = await verifier.verify(token, Date.now());
  assert.equal(refused.ok ? "ok" : refused.code, "token_revoked");
});

Deno.test("ztna admin token issue --out writes a 0600 token file", async () => {
  await using dir = await tempDir("admin");
  assert.equal((await runZtna(["admin", "keygen", "--out", dir.path])).code, 0);
  const issue = await runZtna([
    "admin",
    "token",
    "issue",
    "--signing-key",
    `${dir.path}/token-signing.key`,
    "--role",
    "connector",
    "--service",
    "*",
    "--subject",
    "dc-1",
    "--out",
    `${dir.path}/dc-1.token`,
  ]);
  assert.equal(issue.code, 0, issue.stderr);
  assert.match(issue.stdout.trim(), /^[\w-]{22}$/);
  assert.equal(await mode(`${dir.path}/dc-1.token`), 0o600);
});

Deno.test("ztna admin dev-certs writes a CA and relay certificate with private keys 0600", async () => {
  await using dir = await tempDir("admin");
  const out = `${dir.path}/dev`;
  const result = await runZtna(["admin", "dev-certs", "--out", out, "--name", "relay.example.com"]);
  assert.equal(result.code, 0, result.stderr);
  const names = (await Array.fromAsync(Deno.readDir(out))).map((e) => e.name).sort();
  assert.deepEqual(names, ["ca.crt", "ca.key", "relay.crt", "relay.key"]);
  assert.equal(await mode(`${out}/ca.key`), 0o600);
  assert.equal(await mode(`${out}/relay.key`), 0o600);
  const leaf = readCertificateInfo(await Deno.readTextFile(`${out}/relay.crt`));
  assert.deepEqual(leaf.dnsNames, ["localhost", "relay.example.com"]);
  assert.equal(leaf.issuer, readCertificateInfo(await Deno.readTextFile(`${out}/ca.crt`)).subject);
});

Deno.test("ztna admin reports usage errors with exit 2 and permission limits with exit 1", async () => {
  const usage = await runZtna(["admin", "token", "isue"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /ztna admin: unknown command "ztna admin token isue"/);
  assert.match(usage.stderr, /did you mean "ztna admin token issue"/);

  const outside = await runZtna(["admin", "keygen", "--out", "/tmp/ztna-admin-e2e-outside"]);
  assert.equal(outside.code, 1);
  assert.match(outside.stderr, /outside the ztna permission set/);
  // The folders as absolute paths (the set's "./state" is the project's, not the cwd's).
  assert.match(outside.stderr, /\/certs, \/\S+\/state, \/etc\/ztna and \/var\/lib\/ztna/);
});
