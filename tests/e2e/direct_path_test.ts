/**
 * Direct (P2P) paths on loopback: brokered through the relay, authenticated by a relay ticket,
 * used for new flows while up (TCP and UDP); signalling bound to the session's two connections; a
 * peer without a ticket is refused at the connector. (The NAT cases run in network namespaces: tests/netns/.)
 * @module
 */
import assert from "node:assert/strict";
import { ControlChannel } from "../../src/transport/control_channel.ts";
import {
  backendBehind,
  Fixture,
  freeTcpPort,
  freeUdpPort,
  httpBackend,
} from "../_helpers/cluster.ts";
import { closedWith, rawConnect, rawSession } from "../_helpers/raw_peer.ts";
import { adminCall } from "../_helpers/admin_http.ts";
import { metricSum } from "../_helpers/metrics.ts";
import { echoExchange, udpClient, udpEcho } from "../_helpers/udp.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const DIRECT = { extra: "direct = true" };

/** A connector serving `web` from `backendPort` with direct paths on. */
async function directConnector(fx: Fixture, relayPort: number, backendPort: number) {
  const token = (await fx.token("connector")).path;
  return fx.connector([relayPort], { web: `127.0.0.1:${backendPort}` }, token, DIRECT);
}

Deno.test("direct path: brokered, authenticated, and used for new flows", opts, async () => {
  await using fx = await Fixture.create("direct");
  const backend = httpBackend("backend");
  try {
    const relayPort = freeUdpPort();
    const relay = await fx.relay(relayPort);
    const { connector, client, local } = await fx.attach([relayPort], backend.port, {
      connector: DIRECT,
      client: { ...DIRECT, logLevel: "debug" },
    });
    await client.waitFor(/Direct path to "?web"? is up/, 15_000);
    await connector.waitFor(/Direct path from "?client-\d+"? for "?web"? accepted/);
    assert.equal(await backendBehind(local, "/x"), "backend");
    await client.waitFor(/open via "?direct/);
    await relay.waitFor(/now take the "?direct"? path/);
  } finally {
    await backend.shutdown();
  }
});

Deno.test(
  "direct path: UDP flows take it, the relay carries none of their datagrams, isolation holds",
  opts,
  async () => {
    await using fx = await Fixture.create("direct-udp");
    const echo = udpEcho();
    try {
      const relayPort = freeUdpPort();
      const { url, adminToken } = await fx.adminRelay(relayPort);
      const relayed = async () => {
        const text = (await adminCall(url, "/metrics", { token: adminToken })).text;
        return {
          datagrams: metricSum(text, "ztna_relayed_datagrams_total"),
          bytes: metricSum(text, "ztna_relayed_bytes_total"),
        };
      };
      // A UDP-only service: its connector offers direct paths for it too.
      const connector = await fx.connector(
        [relayPort],
        { echo: { backend: `127.0.0.1:${echo.port}`, protocol: "udp" } },
        (await fx.token("connector", { services: ["echo"] })).path,
        { extra: "direct = true" },
      );
      const clients = [];
      for (let i = 0; i < 2; i++) {
        const local = freeUdpPort();
        const client = await fx.client(
          [relayPort],
          { [`127.0.0.1:${local}`]: "echo@udp" },
          (await fx.token("client", { services: ["echo"] })).path,
          { extra: "direct = true", logLevel: "debug" },
        );
        await client.waitFor(/Direct path to "?echo"? is up/, 15_000);
        clients.push({ client, local });
      }
      await connector.waitFor(/Direct path from "?client-\d+"? for "?echo"? accepted/);
      const before = await relayed();
      const [a, b] = await Promise.all([
        echoExchange(clients[0].local, "alice", 2_000, { window: 32 }),
        echoExchange(clients[1].local, "bob", 2_000, { window: 32 }),
      ]);
      assert.equal(a.answered, 2_000);
      assert.equal(b.answered, 2_000);
      assert.deepEqual(a.foreign, [], "alice saw none of bob's replies");
      assert.deepEqual(b.foreign, [], "bob saw none of alice's replies");
      for (const { client } of clients) await client.waitFor(/UDP flow .* open via "?direct/);
      const after = await relayed();
      assert.equal(after.datagrams, before.datagrams, "no datagram went through the relay");
      assert.equal(after.bytes, before.bytes, "no byte went through the relay");
    } finally {
      echo.close();
    }
  },
);

Deno.test(
  "direct path: a UDP flow ends with its lost direct path; the next datagram opens one on the relay",
  opts,
  async () => {
    await using fx = await Fixture.create("direct-udp-lost");
    const echo = udpEcho({ tagPort: true });
    try {
      const relayPort = freeUdpPort();
      const { url, adminToken } = await fx.adminRelay(relayPort);
      const relayedDatagrams = async () =>
        metricSum(
          (await adminCall(url, "/metrics", { token: adminToken })).text,
          "ztna_relayed_datagrams_total",
        );
      const services = { echo: { backend: `127.0.0.1:${echo.port}`, protocol: "udp" as const } };
      const connectorToken = (await fx.token("connector", { services: ["echo"] })).path;
      const direct = await fx.connector([relayPort], services, connectorToken, {
        extra: "direct = true",
      });
      const local = freeUdpPort();
      const client = await fx.client(
        [relayPort],
        { [`127.0.0.1:${local}`]: "echo@udp" },
        (await fx.token("client", { services: ["echo"] })).path,
        { extra: "direct = true\ndirect_retry_ms = 500", logLevel: "debug" },
      );
      await client.waitFor(/Direct path to "?echo"? is up/, 15_000);
      const c = udpClient(local);
      try {
        const ask = async (text: string) => {
          // Datagrams may be lost while the connector changes: ask until answered.
          for (let i = 0; i < 40; i++) {
            await c.send(new TextEncoder().encode(text));
            const reply = await c.receive(250);
            if (reply) return new TextDecoder().decode(reply);
          }
          throw new Error(`no answer to ${text}`);
        };
        assert.match(await ask("one"), /^\d+:one$/);
        await client.waitFor(/UDP flow .* open via "?direct/);
        assert.equal(await relayedDatagrams(), 0);
        // The direct path goes away mid-flow; a connector without direct paths takes over.
        await direct.stop();
        await client.waitFor(/Direct path to "?echo"? lost/, 10_000);
        await fx.connector([relayPort], services, connectorToken);
        assert.match(await ask("two"), /^\d+:two$/);
        await client.waitFor(/UDP flow .* open via "?relay/, 10_000);
        assert.ok(await relayedDatagrams() > 0, "the new flow's datagrams went through the relay");
      } finally {
        c.close();
      }
    } finally {
      echo.close();
    }
  },
);

Deno.test(
  "direct path: a peer without a valid ticket is refused by the connector",
  opts,
  async () => {
    await using fx = await Fixture.create("direct-noticket");
    const backend = httpBackend("backend");
    try {
      const relayPort = freeUdpPort();
      await fx.relay(relayPort);
      const connector = await directConnector(fx, relayPort, backend.port);
      const port = Number((await connector.waitFor(/Accepting direct paths on UDP port (\d+)/))[1]);
      // Learn the connector's certificate the legitimate way (a brokered session), as any client could.
      const caPem = await Deno.readTextFile(fx.pki.caCertPath);
      const token = (await fx.token("client")).token;
      const session = await rawSession(relayPort, caPem, token);
      await session.control.send({
        type: "direct_request",
        requestId: 1,
        service: "web",
        candidates: [{ hostname: "127.0.0.1", port: 9 }],
      });
      const ready = await session.control.next();
      assert.equal(ready?.type, "direct_ready");
      if (ready?.type !== "direct_ready") return;
      const dial = () =>
        Deno.connectQuic({
          hostname: "127.0.0.1",
          port,
          serverName: ready.serverName,
          caCerts: [ready.cert],
          alpnProtocols: ["ztna-v2"],
        });
      for (const ticket of ["", "garbage.ticket.here", token]) {
        const conn = await dial();
        const control = new ControlChannel(await conn.createBidirectionalStream());
        await control.send({ type: "direct_hello", versions: [2], ticket });
        const code = await closedWith(conn, 5_000);
        assert.ok(
          code === "unauthenticated" || code === "protocol_error",
          `ticket ${JSON.stringify(ticket.slice(0, 8))}: ${code}`,
        );
      }
      // The real ticket works, for its service only.
      const good = await dial();
      const control = new ControlChannel(await good.createBidirectionalStream());
      await control.send({ type: "direct_hello", versions: [2], ticket: ready.ticket });
      assert.equal((await control.next())?.type, "direct_welcome");
      good.close({ closeCode: 0, reason: "" });
      session.conn.close({ closeCode: 0, reason: "" });
    } finally {
      await backend.shutdown();
    }
  },
);

Deno.test(
  "direct path: a connection that is not part of a session cannot answer for it",
  opts,
  async () => {
    await using fx = await Fixture.create("direct-hijack");
    const relayPort = freeUdpPort();
    const relay = await fx.relay(relayPort);
    const caPem = await Deno.readTextFile(fx.pki.caCertPath);
    const connectorToken = (await fx.token("connector", { subject: "real-connector" })).token;
    const attackerToken = (await fx.token("connector", { subject: "attacker" })).token;
    const real = await rawConnectorSession(relayPort, caPem, connectorToken);
    const client = await rawSession(relayPort, caPem, (await fx.token("client")).token);
    await client.control.send({
      type: "direct_request",
      requestId: 7,
      service: "web",
      candidates: [{ hostname: "127.0.0.1", port: 9 }],
    });
    const offer = await real.control.next();
    assert.equal(offer?.type, "direct_offer");
    if (offer?.type !== "direct_offer") return;
    // An attacker that somehow knows the session id answers first, with its own address.
    const attacker = await rawConnectorSession(relayPort, caPem, attackerToken, false);
    await attacker.control.send({
      type: "direct_accept",
      sessionId: offer.sessionId,
      candidates: [{ hostname: "127.0.0.66", port: 6666 }],
      cert: "attacker",
      serverName: "evil",
    });
    await relay.waitFor(/Ignored a direct-path answer for a session this connection does not hold/);
    // The real connector's answer is the one the client gets.
    await real.control.send({
      type: "direct_accept",
      sessionId: offer.sessionId,
      candidates: [{ hostname: "127.0.0.1", port: 4242 }],
      cert: "real-cert",
      serverName: "connector.ztna.invalid",
    });
    const ready = await client.control.next();
    assert.ok(
      ready?.type === "direct_ready" && ready.candidates[0].port === 4242 &&
        ready.cert === "real-cert",
    );
    for (const s of [real, client, attacker]) s.conn.close({ closeCode: 0, reason: "" });
  },
);

async function rawConnectorSession(port: number, caPem: string, token: string, register = true) {
  const { helloRelay } = await import("../../src/transport/dial.ts");
  const conn = await rawConnect(port, caPem);
  const session = await helloRelay(conn, "connector", token);
  if (register) {
    await session.control.send({ type: "register", service: "web", direct: true });
    assert.equal((await session.control.next())?.type, "ack");
  }
  return session;
}

Deno.test(
  "direct path: revoking the client's token closes its direct paths too",
  opts,
  async () => {
    await using fx = await Fixture.create("direct-revoke");
    const backend = httpBackend("backend");
    try {
      const relayPort = freeUdpPort();
      await fx.relay(relayPort);
      const connector = await directConnector(fx, relayPort, backend.port);
      const tok = await fx.token("client");
      const client = await fx.client(
        [relayPort],
        { [`127.0.0.1:${freeTcpPort()}`]: "web" },
        tok.path,
        {
          extra: "direct = true",
        },
      );
      await client.waitFor(/Direct path to "?web"? is up/, 15_000);
      await Deno.writeTextFile(`${fx.dir}/revoked.txt`, `${tok.id}\n`);
      await connector.waitFor(
        /Closed the direct path of "?client-\d+"? for "?web"?: "?token_revoked/,
        5_000,
      );
      await client.waitFor(/Direct path to "?web"? lost/, 5_000);
    } finally {
      await backend.shutdown();
    }
  },
);

Deno.test(
  "direct path: a refusal that will not heal is asked again ever more rarely",
  opts,
  async () => {
    await using fx = await Fixture.create("direct-refused-backoff");
    const backend = httpBackend("backend");
    try {
      const relayPort = freeUdpPort();
      const relay = await fx.relay(relayPort);
      await directConnector(fx, relayPort, backend.port);
      // The token lacks `web`: every direct request for it is refused `unauthorized`.
      await fx.client(
        [relayPort],
        { [`127.0.0.1:${freeTcpPort()}`]: "web" },
        (await fx.token("client", { services: ["db"] })).path,
        { extra: "direct = true\ndirect_retry_ms = 200" },
      );
      await new Promise((r) => setTimeout(r, 6_000));
      const refused = relay.output.match(/Refused a direct path to "?web"?[^\n]*unauthorized/g) ??
        [];
      // Asked every 200 ms that would be ~12 refusals in 6 s (the client probes every 500 ms);
      // doubling the hold after each (0.4, 0.8, 1.6, 3.2 s) leaves about 5.
      assert.ok(refused.length >= 2 && refused.length <= 6, `${refused.length} refusals in 6 s`);
    } finally {
      await backend.shutdown();
    }
  },
);
