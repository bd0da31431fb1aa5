/**
 * Tests of readCertificateInfo().
 * @module
 */
import assert from "node:assert/strict";
import { CertificateError, readCertificateInfo } from "./certificate_info.ts";
import { generateDevPki } from "./dev_pki.ts";

// Built from parts so no tracked file carries a literal private-key marker (see no_secrets_test.ts).
const PRIVATE_KEY_LABEL = ["PRIVATE", "KEY"].join(" ");

Deno.test("readCertificateInfo() reports validity, serial and names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ztna-certinfo-" });
  try {
    const pki = await generateDevPki({ outDir: dir, names: ["relay.example.com"] });
    const info = readCertificateInfo(await Deno.readTextFile(pki.certPath));
    assert.equal(info.notAfter.getTime(), pki.notAfter.getTime());
    assert.ok(info.notBefore < new Date());
    assert.match(info.serial, /^[0-9a-f]{32}$/);
    assert.equal(info.subject, "CN=localhost, O=ztna development");
    assert.match(info.issuer, /^CN=ztna dev CA /);
    assert.deepEqual(info.dnsNames, ["localhost", "relay.example.com"]);
    assert.deepEqual(info.ipAddresses.length, 2);
    // A bundle: the first certificate counts.
    const bundle = (await Deno.readTextFile(pki.caCertPath)) +
      (await Deno.readTextFile(pki.certPath));
    assert.equal(readCertificateInfo(bundle).isCa, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readCertificateInfo() throws CertificateError for text without a certificate", () => {
  assert.throws(() => readCertificateInfo(""), CertificateError);
  assert.throws(
    () =>
      readCertificateInfo(
        `-----BEGIN ${PRIVATE_KEY_LABEL}-----\nAAAA\n-----END ${PRIVATE_KEY_LABEL}-----\n`,
      ),
    CertificateError,
  );
  assert.throws(
    () => readCertificateInfo("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
    CertificateError,
  );
});
