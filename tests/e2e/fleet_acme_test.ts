/**
 * Shared ACME in a fleet: three relays on one real PostgreSQL, each with `[intermediate.acme]`
 * against Pebble, start together. One of them orders (the store's order lock; Pebble issues one
 * certificate), the others wait and serve what it stored; the CA validates HTTP-01 at relay C's
 * listener only, which answers from the store whichever relay ordered. Every relay's HTTPS admin
 * endpoint presents the same certificate.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort } from "../_helpers/cluster.ts";
import { AcmeWorld, presentedCertificate } from "../_helpers/pebble.ts";
import { startPostgres } from "../_helpers/postgres.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "a fleet of three relays orders one ACME certificate and serves it on all three",
  opts,
  async () => {
    const db = await startPostgres();
    try {
      await db.createDatabase("acmefleet");
      await using fx = await Fixture.create("pg-acme");
      // Short-lived certificates, renewed at half their life: the fleet renews once, all adopt it.
      await using world = await AcmeWorld.create(fx, { validitySeconds: 24 });
      const passwordFile = `${fx.dir}/db-password`;
      await Deno.writeTextFile(passwordFile, db.password, { mode: 0o600 });
      const caFile = `${fx.dir}/db-ca.pem`;
      await Deno.writeTextFile(caFile, db.caPem);
      const store = `store = { kind = "postgres", url = "${db.url("acmefleet")}", ` +
        `password_file = "${passwordFile}", ca = "${caFile}" }`;
      // Pebble validates at relay C's HTTP-01 port only; A and B listen elsewhere, and the relay
      // that orders (A, the first to start, in practice) is answered for by C from the store.
      const names = ["a", "b", "c"];
      const started = await Promise.all(names.map((name, i) =>
        world.startRelay(freeUdpPort(), {
          admin: "https",
          stateDir: `${fx.dir}/state-${name}`,
          intermediate: store,
          acme: "renew_before_fraction = 0.5\nretry_min_ms = 500\nretry_max_ms = 2000",
          ...(i === 2 ? {} : { httpPort: freeTcpPort() }),
        })
      ));
      assert.equal(world.pebble.issuedSerials.length, 1, "one order for the fleet");
      const [serial] = world.pebble.issuedSerials;
      const ordered = started.filter(({ relay }) => /Obtained ACME certificate/.test(relay.output));
      assert.equal(ordered.length, 1, "exactly one relay ordered");
      const orderer = names[started.findIndex((s) => s === ordered[0])];
      const served = await Promise.all(
        started.map(({ adminUrl }) =>
          presentedCertificate(Number(new URL(adminUrl!).port), "localhost")
        ),
      );
      for (const cert of served) assert.equal(cert.serial.replace(/^0+/, ""), serial);
      const validated = started[2].relay.output.includes("Obtained ACME certificate")
        ? "by its own listener"
        : "by relay c from the store";
      console.log(
        `relay ${orderer} ordered ${serial}, validated ${validated}; a, b and c serve it`,
      );

      // The renewal: one relay orders again, every relay serves the new certificate (hot reload
      // from the store, no restart), and nobody orders a third.
      const renewDeadline = Date.now() + 25_000;
      while (world.pebble.issuedSerials.length < 2) {
        assert.ok(Date.now() < renewDeadline, "no renewal within 25 s");
        await new Promise((r) => setTimeout(r, 200));
      }
      const renewed = world.pebble.issuedSerials[1];
      const serveDeadline = Date.now() + 5_000;
      for (const { adminUrl } of started) {
        const port = Number(new URL(adminUrl!).port);
        while (
          (await presentedCertificate(port, "localhost")).serial.replace(/^0+/, "") !== renewed
        ) {
          assert.ok(Date.now() < serveDeadline, `port ${port} still serves the old certificate`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal(world.pebble.issuedSerials.length, 2, "one renewal order for the fleet");
      console.log(`renewed as ${renewed}; a, b and c serve it`);
      await Promise.all(started.map(({ relay }) => relay.stop()));
    } finally {
      await db.stop();
    }
  },
);
