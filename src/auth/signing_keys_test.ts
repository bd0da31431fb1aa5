/**
 * Tests of Ed25519 key generation, PEM import and the errors that name the bad file.
 * @module
 */
import assert from "node:assert/strict";
import {
  generateSigningKeyPair,
  importPrivateKey,
  importPublicKeys,
  SigningKeyError,
} from "./signing_keys.ts";
import { encodePem } from "./_pem.ts";

// Built from parts so no tracked file carries a literal private-key marker (see no_secrets_test.ts).
const PRIVATE_KEY_LABEL = ["PRIVATE", "KEY"].join(" ");

Deno.test("generateSigningKeyPair() returns PEM keys whose halves share one key id", async () => {
  const pair = await generateSigningKeyPair();
  assert.match(
    pair.privatePem,
    new RegExp(
      `^-----BEGIN ${PRIVATE_KEY_LABEL}-----\n[\\s\\S]+\n-----END ${PRIVATE_KEY_LABEL}-----\n$`,
    ),
  );
  assert.match(pair.publicPem, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
  assert.match(pair.kid, /^[A-Za-z0-9_-]{43}$/);
  const priv = await importPrivateKey(pair.privatePem, "k.key");
  const [pub] = await importPublicKeys([{ path: "k.pub", pem: pair.publicPem }]);
  assert.equal(priv.kid, pair.kid);
  assert.equal(pub.kid, pair.kid);
  assert.equal(pub.path, "k.pub");
  assert.equal(priv.key.extractable, false);
  const data = new TextEncoder().encode("hello");
  const sig = await crypto.subtle.sign("Ed25519", priv.key, data);
  assert.equal(await crypto.subtle.verify("Ed25519", pub.key, sig, data), true);
});

Deno.test("generateSigningKeyPair() makes a different key each time", async () => {
  const [a, b] = await Promise.all([generateSigningKeyPair(), generateSigningKeyPair()]);
  assert.notEqual(a.kid, b.kid);
});

Deno.test("importPublicKeys() keeps several keys for rotation and drops duplicates", async () => {
  const [a, b] = await Promise.all([generateSigningKeyPair(), generateSigningKeyPair()]);
  const keys = await importPublicKeys([
    { path: "a.pub", pem: a.publicPem },
    { path: "b.pub", pem: b.publicPem },
    { path: "a-again.pub", pem: a.publicPem },
  ]);
  assert.deepEqual(keys.map((k) => [k.kid, k.path]), [[a.kid, "a.pub"], [b.kid, "b.pub"]]);
});

Deno.test("importPublicKeys() accepts CRLF line endings and surrounding text", async () => {
  const pair = await generateSigningKeyPair();
  const pem = `comment line\r\n${pair.publicPem.replaceAll("\n", "\r\n")}\r\n`;
  const [key] = await importPublicKeys([{ path: "x.pub", pem }]);
  assert.equal(key.kid, pair.kid);
});

async function rejects(
  promise: Promise<unknown>,
  problem: SigningKeyError["problem"],
  path: string,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof SigningKeyError);
    assert.equal(error.problem, problem);
    assert.equal(error.path, path);
    assert.ok(error.message.startsWith(`${path}: `), error.message);
    return true;
  });
}

Deno.test("importPublicKeys() names the file that holds no Ed25519 public key", async (t) => {
  const pair = await generateSigningKeyPair();
  const ec = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
  ]);
  const ecSpki = encodePem(
    new Uint8Array(await crypto.subtle.exportKey("spki", ec.publicKey)),
    "PUBLIC KEY",
  );
  await t.step(
    "not PEM",
    () => rejects(importPublicKeys([{ path: "a.pub", pem: "hello" }]), "not_pem", "a.pub"),
  );
  await t.step(
    "empty file",
    () => rejects(importPublicKeys([{ path: "e.pub", pem: "" }]), "not_pem", "e.pub"),
  );
  await t.step("a private key instead", async () => {
    const promise = importPublicKeys([{ path: "b.pub", pem: pair.privatePem }]);
    await rejects(promise, "wrong_kind", "b.pub");
    await assert.rejects(
      importPublicKeys([{ path: "b.pub", pem: pair.privatePem }]),
      /never the private key/,
    );
  });
  await t.step(
    "an ECDSA key",
    () => rejects(importPublicKeys([{ path: "c.pub", pem: ecSpki }]), "not_ed25519", "c.pub"),
  );
  await t.step("garbage inside the armour", () =>
    rejects(
      importPublicKeys([{
        path: "d.pub",
        pem: encodePem(new Uint8Array([1, 2, 3]), "PUBLIC KEY"),
      }]),
      "not_ed25519",
      "d.pub",
    ));
  await t.step("two keys in one file", () =>
    rejects(
      importPublicKeys([{ path: "f.pub", pem: pair.publicPem + pair.publicPem }]),
      "not_pem",
      "f.pub",
    ));
  await t.step("the second of two files", () =>
    rejects(
      importPublicKeys([{ path: "ok.pub", pem: pair.publicPem }, { path: "bad.pub", pem: "x" }]),
      "not_pem",
      "bad.pub",
    ));
});

Deno.test("importPrivateKey() names the file that holds no Ed25519 private key", async (t) => {
  const pair = await generateSigningKeyPair();
  const ec = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
  ]);
  const ecPkcs8 = encodePem(
    new Uint8Array(await crypto.subtle.exportKey("pkcs8", ec.privateKey)),
    PRIVATE_KEY_LABEL,
  );
  await t.step(
    "a public key instead",
    () => rejects(importPrivateKey(pair.publicPem, "s.key"), "wrong_kind", "s.key"),
  );
  await t.step(
    "an ECDSA key",
    () => rejects(importPrivateKey(ecPkcs8, "ec.key"), "not_ed25519", "ec.key"),
  );
  await t.step("not PEM", () => rejects(importPrivateKey("nope"), "not_pem", "private key"));
});
