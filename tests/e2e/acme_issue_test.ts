/**
 * First start with `[intermediate.acme]` against a real ACME CA (Pebble): the relay obtains a
 * certificate through its own HTTP-01 listener, stores it with strict modes, and serves it on QUIC
 * (a client trusting only Pebble's root connects; nothing else could chain to that root) and on
 * its HTTPS admin endpoint (openssl shows the serial Pebble logged); a restart reuses the stored
 * certificate instead of ordering again.
 * @module
 */
import assert from "node:assert/strict";
import { ACME_FILES } from "../../src/acme/mod.ts";
import { parsePrometheus, sampleValue } from "../../src/admin/mod.ts";
import { adminCall } from "../_helpers/admin_http.ts";
import { backendBehind, Fixture, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { AcmeWorld, presentedCertificate } from "../_helpers/pebble.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Serial as Pebble logs it: hex without leading zeros. */
function bare(serial: string): string {
  return serial.replace(/^0+/, "");
}

Deno.test(
  "relay obtains an ACME certificate at first start and serves it on QUIC and HTTPS",
  opts,
  async () => {
    await using fx = await Fixture.create("acme-issue");
    await using world = await AcmeWorld.create(fx, { validitySeconds: 3_600 });
    const backend = httpBackend("backend");
    try {
      const relayPort = freeUdpPort();
      const { relay, adminUrl } = await world.startRelay(relayPort, { admin: "https" });
      const [serial] = world.pebble.issuedSerials;
      assert.ok(serial, "Pebble issued a certificate");
      assert.match(relay.output, /Validated "?localhost"? with "?http-01/);
      assert.match(
        relay.output,
        new RegExp(`Obtained ACME certificate "?0*${serial}"? \\("?issue`),
      );

      // QUIC: peers that trust only Pebble's root of this run connect and pass traffic.
      const { local } = await fx.attach([relayPort], backend.port, { ca: world.rootPath });
      assert.equal(await backendBehind(local), "backend");

      // HTTPS admin endpoint: the same certificate, verified against Pebble's root.
      assert.ok(adminUrl);
      const served = await presentedCertificate(Number(new URL(adminUrl).port), "localhost");
      assert.equal(bare(served.serial), serial);
      assert.match(served.issuer, /Pebble Intermediate CA/);
      assert.deepEqual(served.dnsNames, ["localhost"]);
      using client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(world.rootPath)] });
      const ready = await adminCall(adminUrl, "/readyz", { client });
      assert.equal(ready.status, 200, ready.text);
      const parsed = parsePrometheus((await adminCall(adminUrl, "/metrics", { client })).text);
      assert.ok(parsed.ok);
      const metrics = parsed.samples;
      assert.equal(sampleValue(metrics, "ztna_acme_renewals_total", { kind: "issue" }), 1);
      assert.equal(sampleValue(metrics, "ztna_acme_failures_total", { code: "ca_unreachable" }), 0);
      const expiry = sampleValue(metrics, "ztna_certificate_expiry_timestamp_seconds", {});
      assert.ok(expiry !== undefined && expiry > Date.now() / 1_000 + 3_000, `expiry ${expiry}`);

      // Stored with strict modes: the folder 0700, account key and pair 0600.
      const folder = `${world.stateDir}/${ACME_FILES.folder}`;
      assert.equal(((await Deno.stat(folder)).mode ?? 0) & 0o777, 0o700);
      for (const name of [ACME_FILES.accountKey, ACME_FILES.certificate]) {
        assert.equal(((await Deno.stat(`${folder}/${name}`)).mode ?? 0) & 0o777, 0o600, name);
      }

      // A restart serves the stored certificate: no new order.
      await relay.stop();
      const again = await world.startRelay(freeUdpPort());
      assert.match(
        again.relay.output,
        new RegExp(`Loaded the stored ACME certificate "?0*${serial}\\b`),
      );
      assert.deepEqual(world.pebble.issuedSerials, [serial]);
    } finally {
      await backend.shutdown();
    }
  },
);
