import assert from "node:assert/strict";
import fc from "fast-check";
import { readCertificateInfo } from "./certificate_info.ts";
import { CertificateError, readCertificateValidity } from "./certificate_validity.ts";
import { generateDevPki } from "./dev_pki.ts";

Deno.test("readCertificateValidity agrees with the X.509 library on dev certificates", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const nowMs = Date.UTC(2026, 10, 24, 12, 0, 0);
    const pki = await generateDevPki({ outDir: dir, validDays: 30, nowMs });
    for (const path of [pki.certPath, pki.caCertPath]) {
      const pem = await Deno.readTextFile(path);
      const info = readCertificateInfo(pem);
      assert.deepEqual(readCertificateValidity(pem), {
        notBeforeMs: info.notBefore.getTime(),
        notAfterMs: info.notAfter.getTime(),
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readCertificateValidity reads the first certificate of a bundle", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pki = await generateDevPki({ outDir: dir });
    const leaf = await Deno.readTextFile(pki.certPath);
    const bundle = leaf + "\n" + await Deno.readTextFile(pki.caCertPath);
    assert.deepEqual(readCertificateValidity(bundle), readCertificateValidity(leaf));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readCertificateValidity answers garbage with CertificateError only", () => {
  for (const text of ["", "hello", "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----"]) {
    assert.throws(() => readCertificateValidity(text), CertificateError);
  }
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
    const b64 = btoa(String.fromCharCode(...bytes));
    const pem = `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----`;
    try {
      const v = readCertificateValidity(pem);
      assert.ok(Number.isFinite(v.notBeforeMs) && Number.isFinite(v.notAfterMs));
    } catch (e) {
      assert.ok(e instanceof CertificateError, String(e));
    }
  }));
});
