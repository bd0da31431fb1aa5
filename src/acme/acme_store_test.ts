/**
 * The ACME folder: strict modes, the pair as one document that round-trips, an account key made
 * once, and a damaged or mismatched document ignored rather than served.
 * @module
 */
import assert from "node:assert/strict";
import { generateDevPki } from "../pki/mod.ts";
import { AcmeStore } from "./acme_store.ts";
import { certificatePair } from "./certificate_pair.ts";

async function world() {
  const dir = await Deno.makeTempDir();
  const pki = await generateDevPki({ outDir: `${dir}/pki` });
  const pair = certificatePair(
    await Deno.readTextFile(pki.certPath),
    await Deno.readTextFile(pki.keyPath),
  );
  const store = new AcmeStore(`${dir}/state`);
  await store.open();
  return { dir, pair, store, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("AcmeStore keeps the pair in one 0600 file inside a 0700 folder", async () => {
  await using w = await world();
  await w.store.writeCertificate(
    { pair: w.pair, directoryUrl: "https://ca.example.com/dir", domains: ["localhost"] },
    { nowMs: 0 },
  );
  assert.equal(((await Deno.stat(w.store.folder)).mode ?? 0) & 0o777, 0o700);
  assert.equal(((await Deno.stat(w.store.certificatePath)).mode ?? 0) & 0o777, 0o600);
  const read = await w.store.readCertificate();
  assert.ok(read);
  assert.equal(read.pair.cert, w.pair.cert);
  assert.equal(read.pair.key, w.pair.key);
  assert.equal(read.directoryUrl, "https://ca.example.com/dir");
  assert.deepEqual(read.domains, ["localhost"]);
});

Deno.test("AcmeStore.readCertificate() is undefined without a file, damaged or mismatched", async () => {
  await using w = await world();
  assert.equal(await w.store.readCertificate(), undefined);
  await Deno.writeTextFile(w.store.certificatePath, '{"version":1,"cert":"');
  assert.equal(await w.store.readCertificate(), undefined);
  await Deno.writeTextFile(
    w.store.certificatePath,
    JSON.stringify({
      version: 1,
      directory_url: "https://ca.example.com/dir",
      domains: ["localhost"],
      obtained_at: "2026-01-01T00:00:00.000Z",
      cert: w.pair.cert,
      key: await Deno.readTextFile((await generateDevPki({ outDir: `${w.dir}/other` })).keyPath),
    }),
  );
  assert.equal(await w.store.readCertificate(), undefined);
});

Deno.test("AcmeStore.accountKey() creates the key once, mode 0600", async () => {
  await using w = await world();
  let made = 0;
  const create = () => Promise.resolve(`key ${++made}`);
  assert.equal(await w.store.accountKey(create), "key 1");
  assert.equal(await w.store.accountKey(create), "key 1");
  assert.equal(made, 1);
  assert.equal(((await Deno.stat(w.store.accountKeyPath)).mode ?? 0) & 0o777, 0o600);
});

Deno.test("AcmeStore.open() removes a half-written pair left by a crash", async () => {
  await using w = await world();
  await Deno.writeTextFile(`${w.store.certificatePath}.tmp-0123456789ab`, '{"half');
  await w.store.open();
  assert.deepEqual([...Deno.readDirSync(w.store.folder)].map((e) => e.name), []);
});
