/**
 * kill -9 in the middle of a renewal: the relay (a test build that stops right after writing half
 * of the renewed pair's temporary file) dies; the stored pair is still the old, complete one; a
 * restart of the real main.ts removes the leftover, serves the old pair at once and finishes the
 * renewal by itself.
 * @module
 */
import assert from "node:assert/strict";
import { ACME_FILES } from "../../src/acme/mod.ts";
import { readCertificateInfo } from "../../src/pki/mod.ts";
import { backendBehind, Fixture, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { AcmeWorld } from "../_helpers/pebble.ts";
import { REPO_ROOT } from "../_helpers/ztna_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Serial of the stored pair, as Pebble logs it (no leading zeros). */
async function storedSerial(path: string): Promise<string> {
  const stored: { cert: string } = JSON.parse(await Deno.readTextFile(path));
  return readCertificateInfo(stored.cert).serial.replace(/^0+/, "");
}

Deno.test(
  "relay killed mid-renewal restarts with a valid pair and finishes the renewal",
  opts,
  async () => {
    await using fx = await Fixture.create("acme-crash");
    await using world = await AcmeWorld.create(fx, { validitySeconds: 20 });
    const backend = httpBackend("backend");
    try {
      const acme = "renew_before_fraction = 0.75\nretry_min_ms = 300\nretry_max_ms = 1000";
      const paused = await world.startRelay(freeUdpPort(), {
        acme,
        entry: `${REPO_ROOT}/tests/_builds/acme_pausing_relay.ts`,
      });
      const [first] = world.pebble.issuedSerials;
      const temporary =
        (await paused.relay.waitFor(/TEST: paused before committing (\S+)/, 15_000))[1]
          .replace(/^"|"$/g, "");
      assert.equal(world.pebble.issuedSerials.length, 2, "the renewal got its certificate");
      paused.relay.kill("SIGKILL");
      await paused.relay.done;

      // On disk: the old pair, whole; beside it the half-written new one.
      const stored = `${world.stateDir}/${ACME_FILES.folder}/${ACME_FILES.certificate}`;
      assert.equal(await storedSerial(stored), first);
      assert.throws(() => JSON.parse(Deno.readTextFileSync(temporary)));

      // The real binary: cleans up, serves the old pair at once, renews by itself.
      const relayPort = freeUdpPort();
      const { relay } = await world.startRelay(relayPort, { acme });
      assert.match(
        relay.output,
        /Removed certificate\.json\.tmp-[0-9a-f]+, left by an interrupted/,
      );
      assert.match(relay.output, new RegExp(`Loaded the stored ACME certificate "?0*${first}\\b`));
      await assert.rejects(Deno.stat(temporary), Deno.errors.NotFound);
      const renewed =
        (await relay.waitFor(/Serving the renewed ACME certificate "?0*([0-9a-f]+)/))[1];
      assert.ok(relay.output.indexOf("Relay listening on") < relay.output.indexOf(renewed));
      assert.equal(world.pebble.issuedSerials.at(-1), renewed);
      assert.equal(await storedSerial(stored), renewed);

      // Peers trusting Pebble's root are served.
      const { local } = await fx.attach([relayPort], backend.port, { ca: world.rootPath });
      assert.equal(await backendBehind(local), "backend");
    } finally {
      await backend.shutdown();
    }
  },
);
