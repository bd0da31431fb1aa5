/**
 * SIGHUP on a connector: it reads its config again and moves its services to a new egress Worker
 * (the new `net`), while a flow held on an unchanged service goes on in the old Worker: a service
 * is added, one removed (now `no_connector` at the relay), one re-pointed (new flows reach the new
 * backend); a config that does not load keeps everything and names the key.
 * @module
 */
import assert from "node:assert/strict";
import {
  backendBehind,
  Fixture,
  freeTcpPort,
  freeUdpPort,
  httpBackend,
} from "../_helpers/cluster.ts";
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

/** The backend's name behind a forward, on a new connection (so a new flow) each time. */
const get = (port: number) => backendBehind(port, "/r");

/** A local connection to a forward whose flow the relay refuses: closed without an answer. */
async function noAnswer(port: number): Promise<boolean> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode("GET /r HTTP/1.0\r\n\r\n"));
    const n = await conn.read(new Uint8Array(64)).catch(() => null);
    return n === null;
  } finally {
    conn.close();
  }
}

function services(list: Array<[string, number | string]>): string {
  return list.map(([id, port]) =>
    `[[connector.service]]\nid = "${id}"\nbackend = "${
      typeof port === "number" ? `127.0.0.1:${port}` : port
    }"\n`
  ).join("\n");
}

Deno.test(
  "connector SIGHUP adds, removes and re-points services; a held flow on an unchanged one goes on",
  opts,
  async () => {
    await using fx = await Fixture.create("connector-reload");
    const hold = lineEcho();
    const [gone, oldMoved, newMoved, fresh] = ["gone", "moved-A", "moved-B", "fresh"].map((n) =>
      httpBackend(n)
    );
    try {
      const relayPort = freeUdpPort();
      const relay = await fx.relay(
        relayPort,
        "",
        "connector_wait_ms = 300\nregistration_grace_ms = 0",
      );
      const head = `
[connector]
relays = [{ address = "127.0.0.1:${relayPort}", server_name = "localhost" }]
ca = "${fx.pki.caCertPath}"
token_file = "${
        (await fx.token("connector", { services: ["hold", "gone", "moved", "fresh"] })).path
      }"
reconnect_min_ms = 200
`;
      const path = await fx.config(
        head + services([
          ["hold", hold.port],
          ["gone", gone.port],
          ["moved", oldMoved.port],
        ]),
      );
      const connector = fx.spawn(["--role=connector", "--config", path], "connector");
      await connector.waitFor(/Registered service moved/);
      const ports = {
        hold: freeTcpPort(),
        gone: freeTcpPort(),
        moved: freeTcpPort(),
        fresh: freeTcpPort(),
      };
      const client = await fx.client(
        [relayPort],
        Object.fromEntries(Object.entries(ports).map(([s, p]) => [`127.0.0.1:${p}`, s])),
        (await fx.token("client", { services: ["*"] })).path,
        { extra: "direct = false" },
      );
      const held = await Deno.connect({ hostname: "127.0.0.1", port: ports.hold });
      try {
        assert.equal(await roundTrip(held, "one"), "one");
        assert.equal(await get(ports.moved), "moved-A");
        assert.equal(await get(ports.gone), "gone");

        await Deno.writeTextFile(
          path,
          head + services([["hold", hold.port], ["moved", newMoved.port], ["fresh", fresh.port]]),
        );
        connector.kill("SIGHUP");
        await connector.waitFor(
          /Reload applied: added \[fresh\], removed \[gone\], re-pointed \[moved\], unchanged \[hold\]/,
        );
        await relay.waitFor(/Unregistered gone/);
        assert.equal(await roundTrip(held, "two"), "two", "the held flow survived the reload");
        for (let i = 0; i < 4; i++) {
          assert.equal(await get(ports.moved), "moved-B", "only the new backend");
        }
        assert.equal(await get(ports.fresh), "fresh");
        assert.ok(await noAnswer(ports.gone), "the removed service gets no flow");
        await client.waitFor(/Flow to gone refused: no_connector/);
        // A new flow of the unchanged service goes to the new data plane, the held one stays.
        const second = await Deno.connect({ hostname: "127.0.0.1", port: ports.hold });
        assert.equal(await roundTrip(second, "new"), "new");
        assert.equal(await roundTrip(held, "three"), "three");
        second.close();

        // A config that does not load: the error names the key, the services stay as they were.
        await Deno.writeTextFile(
          path,
          head + services([["hold", hold.port], ["moved", "nowhere"]]),
        );
        connector.kill("SIGHUP");
        await connector.waitFor(
          /Reload failed, keeping the previous connector config: .*connector\.service\[1\]\.backend/,
        );
        assert.equal(await get(ports.fresh), "fresh");
        assert.equal(await get(ports.moved), "moved-B");
        assert.equal(await roundTrip(held, "four"), "four");
      } finally {
        held.close();
      }
      // The old data plane stops once its last flow (the held one) ended.
      await connector.waitFor(/previous data plane served its last flow and stopped/);
    } finally {
      hold.close();
      for (const b of [gone, oldMoved, newMoved, fresh]) await b.shutdown();
    }
  },
);
