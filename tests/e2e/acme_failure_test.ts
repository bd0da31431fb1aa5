/**
 * The ACME CA goes away: the relay keeps serving the certificate it has, counts and logs every
 * failed renewal, retries with growing jittered delays, reports not ready once the certificate
 * expires, and recovers by itself when a CA answers again.
 * @module
 */
import assert from "node:assert/strict";
import { parsePrometheus, sampleValue } from "../../src/admin/mod.ts";
import { adminCall, eventually } from "../_helpers/admin_http.ts";
import {
  backendBehind,
  Fixture,
  freeTcpPort,
  freeUdpPort,
  httpBackend,
} from "../_helpers/cluster.ts";
import { AcmeWorld } from "../_helpers/pebble.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const RETRY_MIN_MS = 400;
const RETRY_MAX_MS = 1_600;

async function metric(url: string, name: string, labels: Record<string, string>) {
  const parsed = parsePrometheus((await adminCall(url, "/metrics")).text);
  assert.ok(parsed.ok);
  return sampleValue(parsed.samples, name, labels) ?? 0;
}

Deno.test(
  "relay keeps its certificate while the ACME CA is down, retries with backoff, recovers",
  opts,
  async () => {
    await using fx = await Fixture.create("acme-down");
    // 20 s certificates, renewal due 3.5 to 5 s after issuance (Pebble is stopped by then).
    await using world = await AcmeWorld.create(fx, { validitySeconds: 20 });
    const backend = httpBackend("backend");
    try {
      const relayPort = freeUdpPort();
      const { relay, adminUrl } = await world.startRelay(relayPort, {
        admin: "http",
        acme: `renew_before_fraction = 0.75\nretry_min_ms = ${RETRY_MIN_MS}\n` +
          `retry_max_ms = ${RETRY_MAX_MS}`,
      });
      assert.ok(adminUrl);
      const [serial] = world.pebble.issuedSerials;
      await world.pebble.stop();
      // Peers trusting Pebble's first root, connected while the certificate is young.
      const { local } = await fx.attach([relayPort], backend.port, { ca: world.rootPath });

      // Failed renewals are logged with their reason, counted, and spaced out more and more.
      await relay.waitFor(/ACME renew failed \(ca_unreachable\), attempt 5\b/, 20_000);
      const delays = [...relay.output.matchAll(/attempt (\d+)\b.*retrying in (\d+) ms/g)]
        .map((m) => ({ attempt: Number(m[1]), delayMs: Number(m[2]) }));
      for (const { attempt, delayMs } of delays) {
        const d = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (attempt - 1));
        assert.ok(delayMs >= d / 2 && delayMs <= d, `attempt ${attempt} waited ${delayMs} ms`);
      }
      assert.match(relay.output, new RegExp(`still serving "?0*${serial}\\b`));
      assert.ok(
        await metric(adminUrl, "ztna_acme_failures_total", { code: "ca_unreachable" }) >= 5,
      );
      assert.equal(await metric(adminUrl, "ztna_acme_renewals_total", { kind: "renew" }), 0);

      // Meanwhile the old certificate is served: old and new peers get through.
      assert.equal(await backendBehind(local), "backend");
      const local2 = freeTcpPort();
      await fx.client(
        [relayPort],
        { [`127.0.0.1:${local2}`]: "web" },
        (await fx.token("client")).path,
        { ca: world.rootPath },
      );
      assert.equal(await backendBehind(local2), "backend");
      assert.equal((await adminCall(adminUrl, "/readyz")).status, 200);

      // Once it expires, /readyz says why the relay is not ready.
      const expired = await eventually("/readyz to fail on the certificate", async () => {
        const ready = await adminCall(adminUrl, "/readyz");
        return ready.status === 503 ? ready.json() : undefined;
      }, 25_000);
      assert.deepEqual(expired.checks, {
        listening: true,
        store: true,
        certificate: false,
        draining: false,
      });
      await relay.waitFor(/expired at .*\/readyz reports not ready/);

      // A CA again (same URL, new root): the next retry renews and the relay is ready again.
      await world.restartPebble();
      await relay.waitFor(/Serving the renewed ACME certificate/, 20_000);
      await eventually("/readyz to recover", async () => {
        return (await adminCall(adminUrl, "/readyz")).status === 200 ? true : undefined;
      });
      assert.ok(await metric(adminUrl, "ztna_acme_renewals_total", { kind: "renew" }) >= 1);
    } finally {
      await backend.shutdown();
    }
  },
);
