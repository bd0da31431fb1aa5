/**
 * Tests of generateDevPki(), including real Deno QUIC handshakes with the files it writes.
 * @module
 */
import assert from "node:assert/strict";
import { readCertificateInfo } from "./certificate_info.ts";
import { DEV_PKI_FILES, generateDevPki, subjectAltNames } from "./dev_pki.ts";

// Built from parts so no tracked file carries a literal private-key marker (see no_secrets_test.ts).
const PRIVATE_KEY_LABEL = ["PRIVATE", "KEY"].join(" ");

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ztna-pki-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Handshakes with a QUIC listener using the relay certificate; returns the client's error, if any. */
async function quicHandshake(
  files: { certPath: string; keyPath: string },
  caPem: string,
  serverName: string,
): Promise<Error | undefined> {
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = endpoint.listen({
    alpnProtocols: ["t"],
    cert: await Deno.readTextFile(files.certPath),
    key: await Deno.readTextFile(files.keyPath),
  });
  // Deno 2.9.6: reading `remoteAddr` of a QuicIncoming breaks accept(), so accept on the listener.
  const accepted = listener.accept().then((conn) => conn, (error: unknown) => error);
  try {
    const conn = await Deno.connectQuic({
      hostname: "127.0.0.1",
      port: endpoint.addr.port,
      alpnProtocols: ["t"],
      caCerts: [caPem],
      serverName,
    });
    const server = await accepted;
    assert.ok(!(server instanceof Error), `server side failed: ${server}`);
    assert.equal(conn.protocol, "t");
    conn.close({ closeCode: 0, reason: "" });
    return undefined;
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  } finally {
    listener.stop();
    endpoint.close();
    await accepted;
  }
}

Deno.test("generateDevPki() writes a CA and relay certificate that Deno QUIC accepts", async () => {
  await withTempDir(async (dir) => {
    const pki = await generateDevPki({ outDir: `${dir}/dev` });
    assert.deepEqual(
      [pki.caCertPath, pki.caKeyPath, pki.certPath, pki.keyPath],
      Object.values(DEV_PKI_FILES).map((name) => `${dir}/dev/${name}`),
    );
    assert.equal(pki.caReused, false);
    const caPem = await Deno.readTextFile(pki.caCertPath);
    assert.equal(await quicHandshake(pki, caPem, "localhost"), undefined);
  });
});

Deno.test("generateDevPki() relay certificate verifies for its IP names too", async () => {
  await withTempDir(async (dir) => {
    const pki = await generateDevPki({ outDir: dir });
    const caPem = await Deno.readTextFile(pki.caCertPath);
    assert.equal(await quicHandshake(pki, caPem, "127.0.0.1"), undefined);
    const wrongName = await quicHandshake(pki, caPem, "relay.example.com");
    assert.ok(wrongName, "a name outside the certificate must fail");
  });
});

Deno.test("generateDevPki() relay certificate is refused by a client trusting another CA", async () => {
  await withTempDir(async (dir) => {
    const pki = await generateDevPki({ outDir: `${dir}/a` });
    const other = await generateDevPki({ outDir: `${dir}/b` });
    const error = await quicHandshake(pki, await Deno.readTextFile(other.caCertPath), "localhost");
    assert.ok(error, "the handshake must fail");
    assert.match(error.message, /UnknownIssuer/);
  });
});

Deno.test("generateDevPki() keeps a valid CA and re-issues the relay certificate", async () => {
  await withTempDir(async (dir) => {
    const first = await generateDevPki({ outDir: dir });
    const caPem = await Deno.readTextFile(first.caCertPath);
    const caKey = await Deno.readTextFile(first.caKeyPath);
    const firstLeaf = readCertificateInfo(await Deno.readTextFile(first.certPath));
    const second = await generateDevPki({ outDir: dir, names: ["relay.example.com"] });
    assert.equal(second.caReused, true);
    assert.equal(second.caReplacedBecause, undefined);
    assert.equal(await Deno.readTextFile(second.caCertPath), caPem);
    assert.equal(await Deno.readTextFile(second.caKeyPath), caKey);
    const secondLeaf = readCertificateInfo(await Deno.readTextFile(second.certPath));
    assert.notEqual(secondLeaf.serial, firstLeaf.serial);
    assert.deepEqual(secondLeaf.dnsNames, ["localhost", "relay.example.com"]);
    // A client holding the CA from the first run still trusts the new relay certificate.
    assert.equal(await quicHandshake(second, caPem, "relay.example.com"), undefined);
  });
});

Deno.test("generateDevPki() replaces a CA it cannot use and says why", async (t) => {
  await t.step("key does not belong to the certificate", async () => {
    await withTempDir(async (dir) => {
      await generateDevPki({ outDir: `${dir}/a` });
      await generateDevPki({ outDir: `${dir}/b` });
      await Deno.copyFile(`${dir}/b/ca.key`, `${dir}/a/ca.key`);
      const pki = await generateDevPki({ outDir: `${dir}/a` });
      assert.equal(pki.caReused, false);
      assert.match(pki.caReplacedBecause ?? "", /does not belong/);
      assert.equal(
        await quicHandshake(pki, await Deno.readTextFile(pki.caCertPath), "localhost"),
        undefined,
      );
    });
  });
  await t.step("CA would expire before the new certificate", async () => {
    await withTempDir(async (dir) => {
      const longAgo = Date.now() - 3_640 * 86_400_000;
      await generateDevPki({ outDir: dir, nowMs: longAgo });
      const pki = await generateDevPki({ outDir: dir });
      assert.equal(pki.caReused, false);
      assert.match(pki.caReplacedBecause ?? "", /expires/);
    });
  });
  await t.step("one of the two CA files is missing", async () => {
    await withTempDir(async (dir) => {
      await generateDevPki({ outDir: dir });
      await Deno.remove(`${dir}/ca.key`);
      const pki = await generateDevPki({ outDir: dir });
      assert.equal(pki.caReused, false);
      assert.match(pki.caReplacedBecause ?? "", /is missing/);
    });
  });
  await t.step("the CA file is not a certificate", async () => {
    await withTempDir(async (dir) => {
      await generateDevPki({ outDir: dir });
      await Deno.writeTextFile(`${dir}/ca.crt`, "garbage");
      const pki = await generateDevPki({ outDir: dir });
      assert.equal(pki.caReused, false);
      assert.match(pki.caReplacedBecause ?? "", /ca\.crt/);
    });
  });
  await t.step("the CA file holds the relay certificate", async () => {
    await withTempDir(async (dir) => {
      await generateDevPki({ outDir: dir });
      await Deno.copyFile(`${dir}/relay.crt`, `${dir}/ca.crt`);
      const pki = await generateDevPki({ outDir: dir });
      assert.match(pki.caReplacedBecause ?? "", /not a CA/);
    });
  });
});

Deno.test("generateDevPki() writes private keys with mode 0600 and certificates 0644", async () => {
  await withTempDir(async (dir) => {
    const pki = await generateDevPki({ outDir: dir });
    await Deno.chmod(pki.keyPath, 0o644); // a loose mode from before must not survive a re-run
    await generateDevPki({ outDir: dir });
    const mode = async (path: string) => ((await Deno.stat(path)).mode ?? 0) & 0o777;
    assert.equal(await mode(pki.caKeyPath), 0o600);
    assert.equal(await mode(pki.keyPath), 0o600);
    assert.equal(await mode(pki.caCertPath), 0o644);
    assert.equal(await mode(pki.certPath), 0o644);
    assert.match(
      await Deno.readTextFile(pki.keyPath),
      new RegExp(`^-----BEGIN ${PRIVATE_KEY_LABEL}-----\n`),
    );
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
      "ca.crt",
      "ca.key",
      "relay.crt",
      "relay.key",
    ]);
  });
});

Deno.test("generateDevPki() issues the relay certificate for the requested names and days", async () => {
  await withTempDir(async (dir) => {
    const nowMs = Date.now();
    const pki = await generateDevPki({
      outDir: dir,
      names: ["Relay.Example.COM", "192.0.2.7", "[2001:DB8::0:1]", "localhost"],
      validDays: 30,
      nowMs,
    });
    const leaf = readCertificateInfo(await Deno.readTextFile(pki.certPath));
    assert.deepEqual(leaf.dnsNames, ["localhost", "relay.example.com"]);
    assert.deepEqual(leaf.ipAddresses.length, 4);
    assert.equal(leaf.isCa, false);
    assert.equal(Math.round((leaf.notAfter.getTime() - nowMs) / 86_400_000), 30);
    assert.deepEqual(pki.names, [
      "localhost",
      "127.0.0.1",
      "::1",
      "relay.example.com",
      "192.0.2.7",
      "2001:db8::1",
    ]);
    const ca = readCertificateInfo(await Deno.readTextFile(pki.caCertPath));
    assert.equal(ca.isCa, true);
    assert.equal(leaf.issuer, ca.subject);
    assert.match(ca.subject, /^CN=ztna dev CA [0-9a-f]{8}, O=ztna development$/);
  });
});

Deno.test("generateDevPki() refuses bad options before writing anything", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(generateDevPki({ outDir: `${dir}/x`, validDays: 0 }), RangeError);
    await assert.rejects(generateDevPki({ outDir: `${dir}/x`, validDays: 826 }), RangeError);
    await assert.rejects(generateDevPki({ outDir: `${dir}/x`, names: ["bad name"] }), RangeError);
    await assert.rejects(Deno.stat(`${dir}/x`), Deno.errors.NotFound);
  });
});

Deno.test("subjectAltNames() tells IP addresses from DNS names", async (t) => {
  await t.step("accepted", () => {
    assert.deepEqual(
      subjectAltNames([
        "a.example.com",
        "*.example.com",
        "10.0.0.1",
        "::ffff:192.0.2.1",
        "fe80::1",
        "host-1",
        "x.",
      ]),
      [
        { type: "dns", value: "a.example.com" },
        { type: "dns", value: "*.example.com" },
        { type: "ip", value: "10.0.0.1" },
        { type: "ip", value: "::ffff:c000:201" },
        { type: "ip", value: "fe80::1" },
        { type: "dns", value: "host-1" },
        { type: "dns", value: "x" },
      ],
    );
  });
  for (
    const bad of [
      "",
      "a b",
      "256.1.1.1",
      "1.2.3",
      "-a.com",
      "a..b",
      "*.com",
      "a.*.com",
      "fe80::1%eth0",
      ":::",
      "a/b",
    ]
  ) {
    await t.step(`refused: "${bad}"`, () => {
      assert.throws(() => subjectAltNames([bad]), RangeError);
    });
  }
});
