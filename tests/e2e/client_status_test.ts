/**
 * The client's local status endpoint (`[client] status_listen`): /metrics in Prometheus text and
 * /status in JSON, read after flows through a forward and a drop; UDP flows of a forward and of a
 * SOCKS5 UDP ASSOCIATE counted the same way.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { udpClient, udpEcho } from "../_helpers/udp.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("client status_listen serves /metrics and /status", opts, async () => {
  await using fx = await Fixture.create("client-status");
  const web = httpBackend("web-A");
  try {
    const relayPort = freeUdpPort();
    await fx.relay(relayPort, "", "connector_wait_ms = 300");
    await fx.connector(
      [relayPort],
      { web: `127.0.0.1:${web.port}` },
      (await fx.token("connector", { services: ["web"] })).path,
    );
    const [webPort, nonePort, statusPort] = [freeTcpPort(), freeTcpPort(), freeTcpPort()];
    const client = await fx.client(
      [relayPort],
      { [`127.0.0.1:${webPort}`]: "web", [`127.0.0.1:${nonePort}`]: "none" },
      (await fx.token("client", { services: ["web", "none"] })).path,
      { extra: `direct = false\nstatus_listen = "127.0.0.1:${statusPort}"` },
    );
    await client.waitFor(/Status endpoint on/);
    // curl: one TCP connection, so one flow, per request (fetch would keep one connection alive).
    for (let i = 0; i < 3; i++) {
      const out = await new Deno.Command("curl", {
        args: ["-sS", "--max-time", "10", `http://127.0.0.1:${webPort}/x`],
        stdout: "piped",
      }).output();
      assert.equal(new TextDecoder().decode(out.stdout), "web-A GET /x 0");
    }
    // A service without a connector: the relay refuses the flow; the client counts a drop.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: nonePort });
    await conn.read(new Uint8Array(16)).catch(() => null);
    conn.close();
    await client.waitFor(/Flow to none refused: no_connector/);

    const base = `http://127.0.0.1:${statusPort}`;
    let metrics = "";
    // Flows end asynchronously after curl got its answer: poll briefly for the counters.
    for (let i = 0; i < 50; i++) {
      metrics = await (await fetch(`${base}/metrics`)).text();
      if (/ztna_client_flows_active\{service="web",path="relay",protocol="tcp"\} 0/.test(metrics)) {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(metrics, /^ztna_client_relay_connected 1$/m);
    assert.match(metrics, /^ztna_client_relay_connections [1-9]\d*$/m);
    assert.match(
      metrics,
      /^ztna_client_flows_opened_total\{service="web",path="relay",protocol="tcp"\} 3$/m,
    );
    assert.match(
      metrics,
      /^ztna_client_flows_active\{service="web",path="relay",protocol="tcp"\} 0$/m,
    );
    assert.match(
      metrics,
      /^ztna_client_bytes_total\{service="web",path="relay",protocol="tcp",direction="received"\} [1-9]\d*$/m,
    );
    assert.match(
      metrics,
      /^ztna_client_drops_total\{service="none",reason="no_connector"\} 1$/m,
    );

    const res = await fetch(`${base}/status`);
    assert.equal(res.headers.get("content-type"), "application/json");
    const status = await res.json();
    assert.equal(status.connected, true);
    assert.equal(status.relay, `127.0.0.1:${relayPort}`);
    assert.deepEqual(
      status.forwards.map((f: { service: string }) => f.service).sort(),
      ["none", "web"],
    );
    assert.ok(
      status.flows.some((f: { service: string; opened: number }) =>
        f.service === "web" && f.opened === 3
      ),
    );
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  } finally {
    await web.shutdown();
  }
});

/** Reads `/metrics` until `re` matches (flows end asynchronously), at most ~8 s. */
async function metricsMatching(base: string, re: RegExp): Promise<string> {
  let text = "";
  for (let i = 0; i < 80; i++) {
    text = await (await fetch(`${base}/metrics`)).text();
    if (re.test(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  return text;
}

async function readAtLeast(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(64);
  let at = 0;
  while (at < n) {
    const got = await conn.read(buf.subarray(at));
    if (got === null) break;
    at += got;
  }
  return buf.subarray(0, at);
}

Deno.test(
  "client status counts UDP flows of a forward and of SOCKS UDP ASSOCIATE",
  opts,
  async () => {
    await using fx = await Fixture.create("client-status-udp");
    const echo = udpEcho();
    const relayPort = freeUdpPort();
    await fx.relay(relayPort, "", "connector_wait_ms = 300");
    await fx.connector(
      [relayPort],
      { echo: { backend: `127.0.0.1:${echo.port}`, protocol: "udp" } },
      (await fx.token("connector", { services: ["echo"] })).path,
    );
    const [echoPort, nonePort] = [freeUdpPort(), freeUdpPort()];
    const [socksPort, statusPort] = [freeTcpPort(), freeTcpPort()];
    const client = await fx.client(
      [relayPort],
      { [`127.0.0.1:${echoPort}`]: "echo@udp", [`127.0.0.1:${nonePort}`]: "none@udp" },
      (await fx.token("client", { services: ["echo", "none"] })).path,
      {
        extra: `direct = false\nsocks = "127.0.0.1:${socksPort}"\n` +
          `status_listen = "127.0.0.1:${statusPort}"\nudp_idle_timeout_ms = 1500`,
      },
    );
    await client.waitFor(/Status endpoint on/);
    const local = udpClient(echoPort);
    const control = await Deno.connect({ hostname: "127.0.0.1", port: socksPort });
    const socks = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const none = udpClient(nonePort);
    try {
      // A forward: three 10-byte datagrams, each echoed.
      for (let i = 0; i < 3; i++) {
        await local.send(new Uint8Array(10).fill(i));
        assert.equal((await local.receive(10_000))?.byteLength, 10, `echo ${i}`);
      }
      // SOCKS5 UDP ASSOCIATE: two 4-byte payloads to echo.ztna.
      await control.write(Uint8Array.of(5, 1, 0));
      assert.deepEqual([...await readAtLeast(control, 2)], [5, 0]);
      const from = (socks.addr as Deno.NetAddr).port;
      await control.write(Uint8Array.of(5, 3, 0, 1, 127, 0, 0, 1, from >> 8, from & 0xff));
      const reply = await readAtLeast(control, 10);
      assert.equal(reply[1], 0);
      const relayTo: Deno.NetAddr = {
        transport: "udp",
        hostname: [...reply.subarray(4, 8)].join("."),
        port: (reply[8] << 8) | reply[9],
      };
      const name = new TextEncoder().encode("echo.ztna");
      const header = [0, 0, 0, 3, name.length, ...name, 0, 7];
      for (let i = 0; i < 2; i++) {
        await socks.send(Uint8Array.of(...header, 1, 2, 3, i), relayTo);
        const [back] = await socks.receive();
        assert.equal(back.byteLength, header.length + 4);
      }
      // A UDP service without a connector: its flow is refused, a drop like a TCP one.
      await none.send(Uint8Array.of(1));
      await client.waitFor(/Flow to none refused: no_connector/);

      const base = `http://127.0.0.1:${statusPort}`;
      const udp = 'service="echo",path="relay",protocol="udp"';
      const during = await metricsMatching(base, new RegExp(`flows_active\\{${udp}\\} 2`));
      assert.match(during, new RegExp(`^ztna_client_flows_opened_total\\{${udp}\\} 2$`, "m"));
      assert.match(during, new RegExp(`^ztna_client_flows_active\\{${udp}\\} 2$`, "m"));
      assert.match(during, /^ztna_client_drops_total\{service="none",reason="no_connector"\} 1$/m);
      const status = await (await fetch(`${base}/status`)).json();
      assert.ok(
        status.flows.some((f: { service: string; protocol: string; active: number }) =>
          f.service === "echo" && f.protocol === "udp" && f.active === 2
        ),
        "UDP flows in /status",
      );

      // Idle flows close: active back to 0, their bytes counted (payload only, both ways).
      const after = await metricsMatching(base, new RegExp(`flows_active\\{${udp}\\} 0`));
      assert.match(after, new RegExp(`^ztna_client_flows_active\\{${udp}\\} 0$`, "m"));
      assert.match(
        after,
        new RegExp(`^ztna_client_bytes_total\\{${udp},direction="sent"\\} 38$`, "m"),
      );
      assert.match(
        after,
        new RegExp(`^ztna_client_bytes_total\\{${udp},direction="received"\\} 38$`, "m"),
      );
    } finally {
      local.close();
      none.close();
      control.close();
      socks.close();
      echo.close();
    }
  },
);
