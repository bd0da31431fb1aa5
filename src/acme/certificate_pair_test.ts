/**
 * Pair checks: the key must be the leaf's, and a pair is judged by expiry, start and names.
 * @module
 */
import assert from "node:assert/strict";
import { generateDevPki } from "../pki/mod.ts";
import { AcmeError } from "./acme_error.ts";
import { certificatePair, pairProblem } from "./certificate_pair.ts";

async function devPair(dir: string, names: string[] = []) {
  const pki = await generateDevPki({ outDir: dir, names });
  return { cert: await Deno.readTextFile(pki.certPath), key: await Deno.readTextFile(pki.keyPath) };
}

Deno.test("certificatePair() accepts a chain with its own key and reads the leaf", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { cert, key } = await devPair(dir, ["relay.example.com"]);
    const pair = certificatePair(cert, key);
    assert.ok(pair.info.dnsNames.includes("relay.example.com"));
    assert.equal(pairProblem(pair, ["relay.example.com"], Date.now()), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("certificatePair() refuses another certificate's key and unreadable text", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await devPair(`${dir}/a`);
    const b = await devPair(`${dir}/b`);
    const invalid = (e: unknown) => e instanceof AcmeError && e.code === "invalid_certificate";
    assert.throws(() => certificatePair(a.cert, b.key), invalid);
    assert.throws(() => certificatePair("not a certificate", a.key), invalid);
    assert.throws(() => certificatePair(a.cert, "not a key"), invalid);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pairProblem() reports expiry, a future start and missing names", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { cert, key } = await devPair(dir);
    const pair = certificatePair(cert, key);
    const { notBefore, notAfter } = pair.info;
    assert.equal(pairProblem(pair, ["localhost"], notAfter.getTime()), "expired");
    assert.equal(pairProblem(pair, ["localhost"], notBefore.getTime() - 1), "not_yet_valid");
    assert.equal(pairProblem(pair, ["relay.example.com"], Date.now()), "names_differ");
    assert.equal(pairProblem(pair, ["localhost"], Date.now()), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
