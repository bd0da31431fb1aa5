/**
 * The TLS-over-TCP transport end to end on loopback: relay, connector and client as real processes
 * with `transport = "tcp"`; HTTP, half-close, a large transfer with hash check, concurrent flows and
 * a UDP flow (DATAGRAM frames) all cross the relay over TCP only.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import {
  downloadHash,
  echoAfterEofServer,
  expectedHash,
  hashingSinkServer,
  sourceServer,
  tcpRequest,
  uploadBlocks,
} from "../_helpers/tcp.ts";
import { udpClient, udpEcho } from "../_helpers/udp.ts";
import { adminCall, eventually } from "../_helpers/admin_http.ts";
import { generateDevPki } from "../../src/pki/dev_pki.ts";
import { openTls, type TcpLinkOptions } from "../../src/transport/mod.ts";
import { startDnsmasq } from "../_helpers/dnsmasq.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const TCP = `transport = "tcp"`;

Deno.test(
  "tcp transport carries TCP flows: HTTP, half-close, 64 MiB both ways, 100 at once",
  opts,
  async () => {
    await using fx = await Fixture.create("tcpt");
    const web = httpBackend("backend-T");
    const echo = echoAfterEofServer();
    const sink = hashingSinkServer();
    const source = sourceServer(64);
    try {
      const relayPort = freeUdpPort();
      const { relay, url, adminToken } = await fx.adminRelay(relayPort);
      await relay.waitFor(/Relay TCP transport listening on/);
      const connector = await fx.connector(
        [relayPort],
        {
          web: `127.0.0.1:${web.port}`,
          echo: `127.0.0.1:${echo.port}`,
          sink: `127.0.0.1:${sink.port}`,
          source: `127.0.0.1:${source.port}`,
        },
        (await fx.token("connector", { services: ["*"] })).path,
        { extra: TCP },
      );
      assert.match(connector.output, /Connected to relay .* over tcp/);
      const [w, e, up, down] = [freeTcpPort(), freeTcpPort(), freeTcpPort(), freeTcpPort()];
      const statusPort = freeTcpPort();
      const client = await fx.client(
        [relayPort],
        {
          [`127.0.0.1:${w}`]: "web",
          [`127.0.0.1:${e}`]: "echo",
          [`127.0.0.1:${up}`]: "sink",
          [`127.0.0.1:${down}`]: "source",
        },
        (await fx.token("client", { services: ["*"] })).path,
        { extra: `${TCP}\nstatus_listen = "127.0.0.1:${statusPort}"` },
      );
      assert.match(client.output, /Connected to relay .* over tcp/);
      const metrics = await (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
      assert.match(metrics, /^ztna_client_relay_transport\{transport="tcp"\} 1$/m);
      assert.match(metrics, /^ztna_client_relay_transport\{transport="quic"\} 0$/m);

      const res = await fetch(`http://127.0.0.1:${w}/hello`, {
        method: "POST",
        body: "x".repeat(999),
      });
      assert.equal(await res.text(), "backend-T POST /hello 999");

      const reply = await tcpRequest(e, new TextEncoder().encode("ping"));
      assert.equal(new TextDecoder().decode(reply), "echo:ping", "half-close crosses TCP links");

      const want = expectedHash(64);
      assert.equal(await uploadBlocks(up, 64), want, "upload digest at the backend");
      const got = await downloadHash(down);
      assert.equal(got.bytes, 64 * 1024 * 1024);
      assert.equal(got.hash, want, "download digest at the client");

      const results = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
        const payload = new TextEncoder().encode(`request-${i}-`.repeat(200));
        const r = await tcpRequest(e, payload);
        return new TextDecoder().decode(r) === `echo:${new TextDecoder().decode(payload)}`;
      }));
      assert.equal(results.filter(Boolean).length, 100);
      assert.doesNotMatch(client.output + connector.output, /over quic/);
      // The admin API shows each peer's transport.
      const listed = JSON.parse(
        (await adminCall(url, "/api/v1/connections", { token: adminToken })).text,
      ) as { items: { role: string; transport: string }[] };
      const peers = listed.items.filter((c) => c.role !== "pending");
      assert.ok(peers.length >= 2, "connector and client listed");
      assert.ok(peers.every((c) => c.transport === "tcp"), JSON.stringify(peers));
    } finally {
      await web.shutdown();
      echo.close();
      sink.close();
      source.close();
    }
  },
);

Deno.test(
  "tcp transport carries UDP flows in DATAGRAM frames: dig → dnsmasq, an echo",
  opts,
  async () => {
    await using fx = await Fixture.create("tcpu");
    const echo = udpEcho();
    const dnsPort = freeUdpPort();
    const dnsmasq = startDnsmasq(dnsPort);
    try {
      const relayPort = freeUdpPort();
      await fx.relay(relayPort);
      await fx.connector(
        [relayPort],
        {
          dns: { backend: `127.0.0.1:${dnsPort}`, protocol: "udp" },
          echo: { backend: `127.0.0.1:${echo.port}`, protocol: "udp" },
        },
        (await fx.token("connector", { services: ["dns", "echo"] })).path,
        { extra: TCP },
      );
      const [dnsLocal, echoLocal] = [freeUdpPort(), freeUdpPort()];
      const client = await fx.client(
        [relayPort],
        { [`127.0.0.1:${dnsLocal}`]: "dns@udp", [`127.0.0.1:${echoLocal}`]: "echo@udp" },
        (await fx.token("client", { services: ["dns", "echo"] })).path,
        { extra: TCP },
      );
      assert.match(client.output, /Connected to relay .* over tcp/);
      const dig = await new Deno.Command("dig", {
        args: ["@127.0.0.1", "-p", String(dnsLocal), "app.example.test", "A", "+short", "+tries=3"],
        stdout: "piped",
      }).output();
      assert.equal(new TextDecoder().decode(dig.stdout).trim(), "192.0.2.7");
      const udp = udpClient(echoLocal);
      try {
        let answered = 0;
        for (let i = 0; i < 20; i++) {
          const msg = new TextEncoder().encode(`datagram-${i}`);
          await udp.send(msg);
          const back = await udp.receive(2_000);
          if (back && new TextDecoder().decode(back) === `datagram-${i}`) answered++;
        }
        assert.equal(answered, 20, "TCP carries every datagram at this rate");
      } finally {
        udp.close();
      }
    } finally {
      echo.close();
      dnsmasq.kill();
      await dnsmasq.status;
    }
  },
);

Deno.test(
  "tcp listener: SIGHUP serves the reloaded certificate to new TCP connections",
  opts,
  async () => {
    await using fx = await Fixture.create("tcpcert");
    const web = httpBackend("backend-C");
    try {
      const relayPort = freeUdpPort();
      const relay = await fx.relay(relayPort);
      await fx.connector(
        [relayPort],
        { web: `127.0.0.1:${web.port}` },
        (await fx.token("connector", { services: ["web"] })).path,
        { extra: TCP },
      );
      const local = freeTcpPort();
      await fx.client(
        [relayPort],
        { [`127.0.0.1:${local}`]: "web" },
        (await fx.token("client", { services: ["web"] })).path,
        { extra: TCP },
      );
      const oldCa = await Deno.readTextFile(fx.pki.caCertPath);
      // A new leaf from the same CA (a renewal): every flow is a new TLS connection, verified
      // against the reloaded certificate, and keeps working.
      await generateDevPki({ outDir: `${fx.dir}/pki` });
      relay.kill("SIGHUP");
      await relay.waitFor(/Reloaded the relay certificate/);
      const res = await fetch(`http://127.0.0.1:${local}/after`);
      assert.equal(await res.text(), "backend-C GET /after 0");
      // A certificate from another CA: only that CA verifies new TCP connections now.
      const other = await generateDevPki({ outDir: `${fx.dir}/pki-other` });
      await Deno.copyFile(other.certPath, fx.pki.certPath);
      await Deno.copyFile(other.keyPath, fx.pki.keyPath);
      relay.kill("SIGHUP");
      await eventually("the second reload", () =>
        Promise.resolve(
          relay.output.match(/Reloaded the relay certificate/g)?.length === 2 ? true : undefined,
        ));
      const tls = (ca: string): TcpLinkOptions => ({
        address: { hostname: "127.0.0.1", port: relayPort },
        serverName: "localhost",
        caCerts: [ca],
        keepAliveMs: 500,
        idleTimeoutMs: 3_000,
      });
      const fresh = await openTls(tls(await Deno.readTextFile(other.caCertPath)));
      fresh.close();
      await assert.rejects(() => openTls(tls(oldCa)), "the old certificate is no longer served");
    } finally {
      await web.shutdown();
    }
  },
);

Deno.test("tcp listener: a TCP port held by another program", opts, async (t) => {
  await using fx = await Fixture.create("tcpbusy");
  await t.step("by default: the relay serves QUIC and warns", async () => {
    const relayPort = freeUdpPort();
    using _held = Deno.listen({ hostname: "127.0.0.1", port: relayPort });
    const relay = await fx.relay(relayPort);
    await relay.waitFor(/TCP transport not started: TCP "?127\.0\.0\.1:\d+"? is in use/);
    await fx.client(
      [relayPort],
      { [`127.0.0.1:${freeTcpPort()}`]: "web" },
      (await fx.token("client")).path,
    );
  });
  await t.step("named in tcp_listen: the relay refuses to start and names the key", async () => {
    const busy = freeTcpPort();
    using _held = Deno.listen({ hostname: "127.0.0.1", port: busy });
    await assert.rejects(
      () =>
        fx.relay(
          freeUdpPort(),
          `tcp_listen = "127.0.0.1:${busy}"\nstate_dir = "${fx.dir}/state-2"`,
        ),
      /Cannot listen on TCP 127\.0\.0\.1:\d+ \(intermediate\.tcp_listen\)/,
    );
  });
});
