/**
 * Three relays on one real PostgreSQL: a client configured with relay A only and a connector
 * configured with relay C only learn the others from the fleet (FLEET), the connector links to all
 * three, and the client reaches the connector's service through A. A token revoked on A closes its
 * sessions on B and C within 5 s. SIGTERM of the client's relay: every new connection through the
 * client's local listener succeeds (DRAIN moves the client before flows are refused). kill -9 of
 * the relay the client then uses: new connections succeed again within 5 s, the listener never
 * goes down.
 * @module
 */
import assert from "node:assert/strict";
import { adminCall } from "../_helpers/admin_http.ts";
import {
  backendBehind,
  Fixture,
  freeTcpPort,
  freeUdpPort,
  httpBackend,
} from "../_helpers/cluster.ts";
import { startPostgres } from "../_helpers/postgres.ts";
import { closedWith, rawSession } from "../_helpers/raw_peer.ts";
import { runZtna, type ZtnaProcess } from "../_helpers/ztna_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** The relay the client last connected to, by port. */
function clientRelayPort(client: ZtnaProcess): number {
  const all = [...client.output.matchAll(/Connected to relay "?127\.0\.0\.1:(\d+)/g)];
  assert.ok(all.length > 0, client.output);
  return Number(all.at(-1)![1]);
}

/** Waits until `re` matched `n` times in the output (bounded). */
async function waitCount(p: ZtnaProcess, re: RegExp, n: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while ([...p.output.matchAll(re)].length < n) {
    assert.ok(Date.now() < deadline, `${p.name}: fewer than ${n} of ${re}\n${p.output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One new connection through the client's listener; true when the backend answered. */
async function fetchOnce(local: number, timeoutMs: number): Promise<boolean> {
  try {
    return await Promise.race([
      backendBehind(local).then((name) => name === "web"),
      new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs)),
    ]);
  } catch {
    return false;
  }
}

Deno.test(
  "a fleet of three relays: learnt relays, revocation, drain and kill -9",
  opts,
  async () => {
    const db = await startPostgres();
    try {
      await db.createDatabase("fleet");
      await using fx = await Fixture.create("pg-failover");
      const passwordFile = `${fx.dir}/db-password`;
      await Deno.writeTextFile(passwordFile, db.password, { mode: 0o600 });
      const caFile = `${fx.dir}/db-ca.pem`;
      await Deno.writeTextFile(caFile, db.caPem);
      const store = `store = { kind = "postgres", url = "${db.url("fleet")}", ` +
        `password_file = "${passwordFile}", ca = "${caFile}" }`;
      const fleetToml = (port: number) =>
        `fleet = { advertise = [{ address = "127.0.0.1:${port}", server_name = "localhost" }], ` +
        `heartbeat_ms = 300, expiry_ms = 1500 }`;
      const [portA, portB, portC] = [freeUdpPort(), freeUdpPort(), freeUdpPort()];
      const relayA = await fx.adminRelay(portA, {
        admin: `token_signing_key = "${await fx.signingKeyFile()}"`,
        extra: `state_dir = "${fx.dir}/state-a"\n${store}\n${fleetToml(portA)}`,
      });
      const relays = new Map<number, ZtnaProcess>([[portA, relayA.relay]]);
      for (const [port, name] of [[portB, "b"], [portC, "c"]] as const) {
        relays.set(
          port,
          await fx.relay(
            port,
            `state_dir = "${fx.dir}/state-${name}"\n${store}\n${fleetToml(port)}`,
          ),
        );
      }
      const backend = httpBackend("web");
      const learn = `learn_relays = ["127.0.0.0/8"]`;
      const connector = await fx.connector(
        [portC],
        { web: `127.0.0.1:${backend.port}` },
        (await fx.token("connector")).path,
        { extra: learn },
      );
      // Registered on C, then on A and B once C's FLEET named them.
      await waitCount(connector, /Registered service web/g, 3, 10_000);
      for (const port of [portA, portB]) {
        assert.match(connector.output, new RegExp(`Linking to relay 127\\.0\\.0\\.1:${port}`));
      }
      const local = freeTcpPort();
      const client = await fx.client(
        [portA],
        { [`127.0.0.1:${local}`]: "web" },
        (await fx.token("client")).path,
        { extra: `direct = false\n${learn}\nrelay_wait_ms = 6000` },
      );
      await client.waitFor(
        /Relays learnt from the fleet: 127\.0\.0\.1:\d+,127\.0\.0\.1:\d+/,
        5_000,
      );
      // Client on A, connector configured with C: the flow crosses the fleet.
      assert.equal(await backendBehind(local), "web");
      assert.equal(clientRelayPort(client), portA);

      // The fleet view, on any relay: three relays up, each with the connector among its peers.
      const view = await runZtna([
        "admin",
        "fleet",
        "--url",
        relayA.url,
        "--admin-token-file",
        relayA.adminTokenPath,
        "--json",
      ]);
      assert.equal(view.code, 0, view.stderr);
      const fleet = JSON.parse(view.stdout).items as Array<
        { health: string; peers: number; self: boolean }
      >;
      assert.deepEqual(fleet.map((r) => r.health), ["up", "up", "up"]);
      assert.ok(fleet.every((r) => r.peers >= 1), view.stdout);
      assert.equal(fleet.filter((r) => r.self).length, 1);
      const table = await runZtna([
        "admin",
        "fleet",
        "--url",
        relayA.url,
        "--admin-token-file",
        relayA.adminTokenPath,
      ]);
      assert.match(table.stdout, /^RELAY +ADDRESSES +HEALTH +PEERS +FLOWS +HEARTBEAT/m);

      // Revocation on A reaches sessions on B and C (NOTIFY) within 5 s.
      const issued = await adminCall(relayA.url, "/api/v1/tokens", {
        token: relayA.adminToken,
        body: { subject: "revoked", role: "client", services: ["web"], ttlSeconds: 3_600 },
      });
      assert.equal(issued.status, 201);
      const victim = await issued.json() as { token: string; credential: { tokenId: string } };
      const caPem = await Deno.readTextFile(fx.pki.caCertPath);
      const onB = await rawSession(portB, caPem, victim.token);
      const onC = await rawSession(portC, caPem, victim.token);
      const revoked = await adminCall(relayA.url, "/api/v1/tokens/revoke", {
        token: relayA.adminToken,
        body: { tokenId: victim.credential.tokenId },
      });
      assert.equal(revoked.status, 200);
      assert.deepEqual(
        await Promise.all([closedWith(onB.conn, 5_000), closedWith(onC.conn, 5_000)]),
        ["token_revoked", "token_revoked"],
      );

      // SIGTERM of the client's relay under a stream of new connections: none fails.
      let failed = 0;
      let made = 0;
      const stream = async (until: Promise<unknown>) => {
        let done = false;
        void until.then(() => done = true);
        while (!done) {
          made++;
          if (!(await fetchOnce(local, 8_000))) failed++;
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      // A flow held open through A keeps A draining for its whole drain_timeout_ms (1 s), when new
      // flows on A would be refused: the client must have moved by then.
      const held = await Deno.connect({ hostname: "127.0.0.1", port: local });
      await held.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: web\r\n"));
      await new Promise((r) => setTimeout(r, 300));
      relayA.relay.kill("SIGTERM");
      const exitedA = relayA.relay.done;
      await stream(exitedA.then(() => new Promise((r) => setTimeout(r, 1_000))));
      held.close();
      assert.equal(failed, 0, `${failed} of ${made} new connections failed during the drain`);
      const moved = clientRelayPort(client);
      assert.notEqual(moved, portA);
      console.log(`drain of A: ${made} new connections, none failed; client moved to ${moved}`);

      // kill -9 of the relay the client moved to: new connections succeed within 5 s.
      const killedAt = Date.now();
      relays.get(moved)!.kill("SIGKILL");
      let firstOk: number | undefined;
      for (let i = 0; i < 40 && firstOk === undefined; i++) {
        if (await fetchOnce(local, 6_000)) firstOk = Date.now() - killedAt;
        else await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(firstOk !== undefined && firstOk <= 5_000, `first success after ${firstOk} ms`);
      for (let i = 0; i < 5; i++) assert.equal(await backendBehind(local), "web");
      const survivor = clientRelayPort(client);
      assert.ok(survivor !== moved && survivor !== portA, `client on ${survivor}`);
      console.log(
        `kill -9 of ${moved}: first new connection through ${survivor} after ${firstOk} ms`,
      );
      await backend.shutdown();
    } finally {
      await db.stop();
    }
  },
);
