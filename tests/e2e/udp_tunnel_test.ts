/**
 * UDP services over QUIC datagrams, end to end with real processes: a real DNS query with dig
 * through dnsmasq, a content-checked echo of 10,000 datagrams, per-flow isolation between two
 * clients, oversize drops and idle expiry.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";
import { echoExchange, udpClient, udpEcho } from "../_helpers/udp.ts";
import { startDnsmasq } from "../_helpers/dnsmasq.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function udpTunnel(
  fx: Fixture,
  backendPort: number,
  options: { clientExtra?: string; connectorExtra?: string; clientLogLevel?: string } = {},
) {
  const relayPort = freeUdpPort();
  const relay = await fx.relay(relayPort);
  const connector = await fx.connector(
    [relayPort],
    { echo: { backend: `127.0.0.1:${backendPort}`, protocol: "udp" } },
    (await fx.token("connector", { services: ["echo"] })).path,
    { extra: options.connectorExtra },
  );
  const local = freeUdpPort();
  const client = await fx.client(
    [relayPort],
    { [`127.0.0.1:${local}`]: "echo@udp" },
    (await fx.token("client", { services: ["echo"] })).path,
    { extra: options.clientExtra, logLevel: options.clientLogLevel },
  );
  return { relayPort, relay, connector, client, local };
}

Deno.test("udp: dig resolves through the tunnel against a real dnsmasq", opts, async () => {
  await using fx = await Fixture.create("dns");
  const dnsPort = freeUdpPort();
  const dnsmasq = startDnsmasq(dnsPort, { stderr: "piped" });
  try {
    const relayPort = freeUdpPort();
    await fx.relay(relayPort);
    await fx.connector(
      [relayPort],
      { dns: { backend: `127.0.0.1:${dnsPort}`, protocol: ["udp", "tcp"] } },
      (await fx.token("connector", { services: ["dns"] })).path,
    );
    const local = freeUdpPort();
    await fx.client(
      [relayPort],
      { [`127.0.0.1:${local}`]: "dns@udp" },
      (await fx.token("client", { services: ["dns"] })).path,
    );
    const out = await new Deno.Command("dig", {
      args: [
        "@127.0.0.1",
        "-p",
        String(local),
        "app.example.test",
        "A",
        "+short",
        "+tries=3",
        "+time=2",
      ],
      stdout: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "192.0.2.7");
  } finally {
    dnsmasq.kill("SIGTERM");
    await dnsmasq.status;
  }
});

Deno.test("udp: 10,000 datagrams of mixed sizes come back byte for byte", opts, async () => {
  await using fx = await Fixture.create("udp-echo");
  const echo = udpEcho();
  try {
    const { local } = await udpTunnel(fx, echo.port);
    const r = await echoExchange(local, "solo", 10_000, { window: 64 });
    assert.equal(r.answered, 10_000);
    assert.deepEqual(r.foreign, []);
  } finally {
    echo.close();
  }
});

Deno.test("udp: two clients on one service each receive only their own replies", opts, async () => {
  await using fx = await Fixture.create("udp-iso");
  const echo = udpEcho();
  try {
    const { relayPort, local } = await udpTunnel(fx, echo.port);
    const local2 = freeUdpPort();
    await fx.client(
      [relayPort],
      { [`127.0.0.1:${local2}`]: "echo@udp" },
      (await fx.token("client", { services: ["echo"] })).path,
    );
    const [a, b] = await Promise.all([
      echoExchange(local, "alice", 5_000, { window: 32 }),
      echoExchange(local2, "bob", 5_000, { window: 32 }),
    ]);
    assert.equal(a.answered, 5_000);
    assert.equal(b.answered, 5_000);
    assert.deepEqual(a.foreign, [], "alice saw none of bob's replies");
    assert.deepEqual(b.foreign, [], "bob saw none of alice's replies");
  } finally {
    echo.close();
  }
});

/** The drop counters a client or connector logged when it stopped (reason → count). */
function loggedDrops(output: string, re: RegExp): Record<string, number> {
  const m = output.match(re);
  assert.ok(m, `no drop summary in:\n${output}`);
  return JSON.parse(m[1]);
}

Deno.test(
  "udp: a datagram larger than the path is dropped and counted; the flow goes on",
  opts,
  async () => {
    await using fx = await Fixture.create("udp-big");
    // Echoes each datagram, but answers "big" with 4,000 bytes: more than a QUIC datagram carries.
    const backend = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    void (async () => {
      for await (const [data, from] of backend) {
        const big = new TextDecoder().decode(data) === "big";
        await backend.send(big ? new Uint8Array(4_000).fill(0x62) : data, from).catch(() => {});
      }
    })().catch(() => {});
    const SENT = 3;
    try {
      const { local, client, connector } = await udpTunnel(
        fx,
        (backend.addr as Deno.NetAddr).port,
        { clientLogLevel: "debug" },
      );
      const c = udpClient(local);
      try {
        await c.send(new TextEncoder().encode("small-1"));
        assert.equal(new TextDecoder().decode((await c.receive(5_000))!), "small-1");
        for (let i = 0; i < SENT; i++) {
          await c.send(new Uint8Array(4_000).fill(0x61)); // dropped by the client
          assert.equal(await c.receive(500), null, "the oversized datagram is not delivered");
          await c.send(new TextEncoder().encode("big")); // its reply dropped by the connector
          assert.equal(await c.receive(500), null, "the oversized reply is not delivered");
        }
        await c.send(new TextEncoder().encode("small-2"));
        assert.equal(new TextDecoder().decode((await c.receive(5_000))!), "small-2");
      } finally {
        c.close();
      }
      // Each side counted exactly what it dropped, under "oversize", and nothing else.
      assert.equal(
        [...client.output.matchAll(/Dropped a 4000-byte datagram to "?echo/g)].length,
        SENT,
      );
      await client.stop();
      await connector.stop();
      const clientDrops = /UDP drops at this client for "?echo"?: (\{[^\n]*\})/;
      assert.deepEqual(loggedDrops(client.output, clientDrops), { oversize: SENT });
      const connectorDrops = /UDP drops at this connector: (\{[^\n]*\})/;
      assert.deepEqual(loggedDrops(connector.output, connectorDrops), { oversize: SENT });
    } finally {
      backend.close();
    }
  },
);

Deno.test("udp: an idle flow expires and the next datagram opens a fresh one", opts, async () => {
  await using fx = await Fixture.create("udp-idle");
  const echo = udpEcho({ tagPort: true });
  try {
    const { local } = await udpTunnel(fx, echo.port, {
      clientExtra: "udp_idle_timeout_ms = 600",
      connectorExtra: "udp_idle_timeout_ms = 600",
    });
    const c = udpClient(local);
    try {
      await c.send(new TextEncoder().encode("one"));
      const first = new TextDecoder().decode((await c.receive(5_000))!);
      await new Promise((r) => setTimeout(r, 2_000));
      await c.send(new TextEncoder().encode("two"));
      const second = new TextDecoder().decode((await c.receive(5_000))!);
      assert.match(first, /^\d+:one$/);
      assert.match(second, /^\d+:two$/);
      assert.notEqual(
        first.split(":")[0],
        second.split(":")[0],
        "a new connector socket served it",
      );
    } finally {
      c.close();
    }
  } finally {
    echo.close();
  }
});
