/**
 * SIGHUP on a client: it re-reads its config and adds and removes forwards while a flow held open
 * on a third forward goes on; a config that does not load, or a new address outside the sandbox's
 * `net`, keeps the previous forwards and logs the key.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { tcpServer } from "../_helpers/tcp.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** A backend that echoes each chunk back as it comes, for a flow held open across the reload. */
function lineEcho() {
  return tcpServer(async (conn) => {
    const buf = new Uint8Array(1024);
    for (let i = 0; i < 1_000; i++) {
      const n = await conn.read(buf);
      if (n === null) return;
      await conn.write(buf.subarray(0, n));
    }
  });
}

async function roundTrip(conn: Deno.Conn, text: string): Promise<string> {
  await conn.write(new TextEncoder().encode(text));
  const buf = new Uint8Array(1024);
  const n = await conn.read(buf);
  return n === null ? "" : new TextDecoder().decode(buf.subarray(0, n));
}

async function get(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/r`, { signal: AbortSignal.timeout(10_000) });
  return await res.text();
}

async function refused(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return false;
  } catch (error) {
    return error instanceof Deno.errors.ConnectionRefused;
  }
}

function forwards(list: Array<[number, string]>): string {
  return list.map(([port, service]) =>
    `[[client.forward]]\nlisten = "127.0.0.1:${port}"\nservice = "${service}"\n`
  ).join("\n");
}

Deno.test(
  "client SIGHUP adds a forward and removes another; a held flow goes on",
  opts,
  async () => {
    await using fx = await Fixture.create("client-reload");
    const hold = lineEcho();
    const web = httpBackend("web-A");
    const api = httpBackend("api-B");
    try {
      const relayPort = freeUdpPort();
      await fx.relay(relayPort);
      await fx.connector(
        [relayPort],
        {
          hold: `127.0.0.1:${hold.port}`,
          web: `127.0.0.1:${web.port}`,
          api: `127.0.0.1:${api.port}`,
        },
        (await fx.token("connector", { services: ["hold", "web", "api"] })).path,
      );
      const [holdPort, webPort, apiPort] = [freeTcpPort(), freeTcpPort(), freeTcpPort()];
      const head = `
[client]
relays = [{ address = "127.0.0.1:${relayPort}", server_name = "localhost" }]
ca = "${fx.pki.caCertPath}"
token_file = "${(await fx.token("client", { services: ["*"] })).path}"
keepalive_ms = 500
idle_timeout_ms = 3000
`;
      const path = await fx.config(head + forwards([[holdPort, "hold"], [webPort, "web"]]));
      const client = fx.spawn(["--role=client", "--config", path], "client");
      await client.waitFor(/Connected to relay/);
      const held = await Deno.connect({ hostname: "127.0.0.1", port: holdPort });
      try {
        assert.equal(await roundTrip(held, "one"), "one");
        assert.equal(await get(webPort), "web-A GET /r 0");

        await Deno.writeTextFile(path, head + forwards([[holdPort, "hold"], [apiPort, "api"]]));
        client.kill("SIGHUP");
        await client.waitFor(/Reload: now listening for forward tcp 127\.0\.0\.1:\d+ api/);
        assert.match(client.output, /Reload: stopped listening for forward tcp .* web/);
        assert.equal(await get(apiPort), "api-B GET /r 0");
        assert.ok(await refused(webPort), "the removed forward no longer listens");
        assert.equal(await roundTrip(held, "two"), "two", "the held flow survived the reload");

        // A config that does not load: the error names the key, the forwards stay as they were.
        await Deno.writeTextFile(
          path,
          head + forwards([[holdPort, "hold"]]) + `[[client.forward]]\nlisten = "nowhere"\n` +
            `service = "web"\n`,
        );
        client.kill("SIGHUP");
        await client.waitFor(
          /Reload failed, keeping the previous client config: .*client\.forward\[1\]\.listen/,
        );
        assert.equal(await get(apiPort), "api-B GET /r 0");
        assert.equal(await roundTrip(held, "three"), "three");
      } finally {
        held.close();
      }
    } finally {
      hold.close();
      await web.shutdown();
      await api.shutdown();
    }
  },
);

Deno.test(
  "client SIGHUP refuses a new address outside its sandbox and says to restart",
  opts,
  async () => {
    await using fx = await Fixture.create("client-reload-net");
    const web = httpBackend("web-A");
    try {
      const { relayPort } = await fx.served(web.port);
      const [webPort, newPort] = [freeTcpPort(), freeTcpPort()];
      // direct = false: the sandbox's net lists the relay and the listeners, nothing else.
      const head = `
[client]
relays = [{ address = "127.0.0.1:${relayPort}", server_name = "localhost" }]
ca = "${fx.pki.caCertPath}"
token_file = "${(await fx.token("client", { services: ["web"] })).path}"
direct = false
`;
      const path = await fx.config(head + forwards([[webPort, "web"]]));
      const client = fx.spawn(["--role=client", "--config", path], "client");
      await client.waitFor(/Connected to relay/);
      await Deno.writeTextFile(path, head + forwards([[webPort, "web"], [newPort, "web"]]));
      client.kill("SIGHUP");
      await client.waitFor(
        /client\.forward\[1\]\.listen: 127\.0\.0\.1:\d+ is outside the client's sandbox.*restart the client/,
      );
      assert.ok(await refused(newPort));
      assert.equal(await get(webPort), "web-A GET /r 0");
    } finally {
      await web.shutdown();
    }
  },
);
