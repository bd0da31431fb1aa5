/**
 * Automatic renewal against Pebble with certificates that live 30 seconds (renewal due at half
 * their life): the relay renews by itself and serves the new certificate on QUIC and HTTPS while a
 * TCP connection opened before the renewal keeps passing data.
 *
 * How the test sees which certificate QUIC serves (Deno's QUIC client does not expose the peer
 * certificate): Pebble makes a new root CA at every start, so Pebble is restarted after the first
 * issuance. A new client that trusts only the new root can connect only if the relay serves the
 * renewed certificate; one that trusts only the old root is refused.
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
import { AcmeWorld, presentedCertificate } from "../_helpers/pebble.ts";
import { tcpServer } from "../_helpers/tcp.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Sends `text` on `conn` and reads the echo back. */
async function roundTrip(conn: Deno.TcpConn, text: string): Promise<string> {
  const bytes = new TextEncoder().encode(text);
  await conn.write(bytes);
  const got = new Uint8Array(bytes.length);
  let at = 0;
  while (at < got.length) {
    const n = await conn.read(got.subarray(at));
    if (n === null) throw new Error("connection closed");
    at += n;
  }
  return new TextDecoder().decode(got);
}

Deno.test(
  "relay renews its ACME certificate by itself; old connections stay, new ones see it",
  opts,
  async () => {
    await using fx = await Fixture.create("acme-renew");
    await using world = await AcmeWorld.create(fx, { validitySeconds: 30 });
    const backend = httpBackend("backend");
    const echo = tcpServer(async (conn) => {
      await conn.readable.pipeTo(conn.writable);
    });
    let long: Deno.TcpConn | undefined;
    try {
      const relayPort = freeUdpPort();
      const { relay, adminUrl } = await world.startRelay(relayPort, {
        admin: "https",
        acme: "renew_before_fraction = 0.5\nretry_min_ms = 300\nretry_max_ms = 1000",
      });
      assert.ok(adminUrl);
      const [first] = world.pebble.issuedSerials;
      const oldRoot = world.rootPath;
      await fx.connector(
        [relayPort],
        { web: `127.0.0.1:${backend.port}`, echo: `127.0.0.1:${echo.port}` },
        (await fx.token("connector", { services: ["web", "echo"] })).path,
        { ca: oldRoot },
      );
      const local = freeTcpPort();
      const localEcho = freeTcpPort();
      await fx.client(
        [relayPort],
        { [`127.0.0.1:${local}`]: "web", [`127.0.0.1:${localEcho}`]: "echo" },
        (await fx.token("client", { services: ["web", "echo"] })).path,
        { ca: oldRoot },
      );
      long = await Deno.connect({ hostname: "127.0.0.1", port: localEcho });
      assert.equal(await roundTrip(long, "before renewal"), "before renewal");

      // New CA root from here on: only a renewed certificate chains to it.
      await world.restartPebble();
      const renewed = await eventually("a renewal by the new Pebble", () => {
        const serial = world.pebble.issuedSerials[0];
        return Promise.resolve(
          serial !== undefined &&
            new RegExp(`Serving the renewed ACME certificate "?0*${serial}\\b`)
              .test(relay.output)
            ? serial
            : undefined,
        );
      }, 40_000).catch((error) => {
        throw new Error(
          `${error}\n--- relay ---\n${relay.output}\n--- pebble ---\n${world.pebble.output}`,
        );
      });
      assert.notEqual(renewed, first);

      // The connection from before the renewal still carries data both ways.
      assert.equal(await roundTrip(long, "after renewal"), "after renewal");
      assert.equal(await backendBehind(local), "backend");

      // A new client trusting only the new root connects: QUIC serves the renewed certificate.
      const local2 = freeTcpPort();
      await fx.client(
        [relayPort],
        { [`127.0.0.1:${local2}`]: "web" },
        (await fx.token("client")).path,
        { ca: world.rootPath },
      );
      assert.equal(await backendBehind(local2), "backend");
      // One trusting only the old root is refused.
      const refused = await fx.client(
        [relayPort],
        { [`127.0.0.1:${freeTcpPort()}`]: "web" },
        (await fx.token("client")).path,
        { ca: oldRoot, wait: /Cannot trust relay/ },
      );
      refused.kill();

      // The admin endpoint serves the renewed certificate too (a renewal after it is fine).
      const served = await presentedCertificate(Number(new URL(adminUrl).port), "localhost");
      assert.ok(world.pebble.issuedSerials.includes(served.serial.replace(/^0+/, "")));
      using client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(world.rootPath)] });
      assert.equal((await adminCall(adminUrl, "/readyz", { client })).status, 200);
      const parsed = parsePrometheus((await adminCall(adminUrl, "/metrics", { client })).text);
      assert.ok(parsed.ok);
      assert.equal(sampleValue(parsed.samples, "ztna_acme_renewals_total", { kind: "issue" }), 1);
      const renewals = sampleValue(parsed.samples, "ztna_acme_renewals_total", { kind: "renew" });
      assert.ok(renewals !== undefined && renewals >= 1, `renewals ${renewals}`);
      assert.match(relay.output, /Reloaded the relay certificate/);
    } finally {
      long?.close();
      echo.close();
      await backend.shutdown();
    }
  },
);
