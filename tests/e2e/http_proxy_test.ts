/**
 * HTTP CONNECT proxy traversal against a real proxy (Debian tinyproxy): TLS to a relay-like server
 * runs end to end through the tunnel and is verified as without a proxy (a wrong CA is refused
 * through it too); a proxy with Basic auth answers 407 without credentials ("needs credentials")
 * and tunnels with them; the password appears in no error. tinyproxy's log shows each CONNECT.
 * A real connector (transport auto, proxy and proxy_credentials_file) registers through it over
 * TCP and serves a client's flow; without the credentials it says the proxy needs them.
 * @module
 */
import assert from "node:assert/strict";
import { generateDevPki } from "../../src/pki/dev_pki.ts";
import { connectTcp, ProxyError } from "../../src/transport/http_proxy.ts";
import { parseProxyUrl } from "../../src/protocol/proxy_url.ts";
import {
  backendBehind,
  Fixture,
  freeTcpPort,
  freeUdpPort,
  httpBackend,
} from "../_helpers/cluster.ts";
import { startTinyproxy } from "../_helpers/tinyproxy.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const PASSWORD = "pr0xy-pass-never-printed";

/** A TLS echo server with the fixture's relay certificate (names localhost and 127.0.0.1). */
function tlsEcho(fx: Fixture): Deno.TlsListener {
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: Deno.readTextFileSync(fx.pki.certPath),
    key: Deno.readTextFileSync(fx.pki.keyPath),
    alpnProtocols: ["ztna-test"],
  });
  (async () => {
    for await (const conn of listener) {
      conn.readable.pipeTo(conn.writable).catch(() => {});
    }
  })().catch(() => {});
  return listener;
}

async function echoThrough(
  port: number,
  proxyUrl: string,
  ca: string,
  credentials?: { user: string; password: string },
): Promise<string> {
  const proxy = parseProxyUrl(proxyUrl);
  assert.ok(proxy.ok);
  const tcp = await connectTcp({ hostname: "127.0.0.1", port }, {
    proxy: proxy.value,
    credentials,
    timeoutMs: 5_000,
  });
  const tls = await Deno.startTls(tcp, {
    hostname: "localhost",
    caCerts: [Deno.readTextFileSync(ca)],
    alpnProtocols: ["ztna-test"],
  });
  try {
    await tls.handshake();
    await tls.write(new TextEncoder().encode("hello relay"));
    const buf = new Uint8Array(64);
    let got = 0;
    while (got < 11) {
      const n = await tls.read(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    return new TextDecoder().decode(buf.subarray(0, got));
  } finally {
    tls.close();
  }
}

Deno.test("http proxy: TLS runs end to end through tinyproxy and is verified", opts, async () => {
  await using fx = await Fixture.create("http-proxy");
  const server = tlsEcho(fx);
  await using proxy = await startTinyproxy(fx.dir);
  try {
    assert.equal(
      await echoThrough(server.addr.port, proxy.url, fx.pki.caCertPath),
      "hello relay",
    );
    assert.ok(
      proxy.connects.includes(`CONNECT 127.0.0.1:${server.addr.port} HTTP/1.1`),
      proxy.output,
    );
    // The proxy changes nothing about trust: another CA is refused through the tunnel too.
    const other = await generateDevPki({ outDir: `${fx.dir}/other-pki` });
    await assert.rejects(
      echoThrough(server.addr.port, proxy.url, other.caCertPath),
      /certificate|UnknownIssuer/i,
    );
  } finally {
    server.close();
  }
});

Deno.test(
  "http proxy: Basic auth — 407 without credentials, a tunnel with them",
  opts,
  async () => {
    await using fx = await Fixture.create("http-proxy-auth");
    const server = tlsEcho(fx);
    await using proxy = await startTinyproxy(fx.dir, {
      basicAuth: { user: "alice", password: PASSWORD },
    });
    try {
      await assert.rejects(
        echoThrough(server.addr.port, proxy.url, fx.pki.caCertPath),
        (e) => {
          assert.ok(e instanceof ProxyError);
          assert.equal(e.code, "proxy_auth_required");
          assert.match(e.message, /the proxy needs credentials \(407/);
          return true;
        },
      );
      await assert.rejects(
        echoThrough(server.addr.port, proxy.url, fx.pki.caCertPath, {
          user: "alice",
          password: "wrong-" + PASSWORD,
        }),
        (e) => {
          assert.ok(e instanceof ProxyError && e.code === "proxy_auth_required", String(e));
          assert.match(e.message, /refused the ones given/);
          assert.ok(!e.message.includes(PASSWORD));
          return true;
        },
      );
      assert.equal(
        await echoThrough(server.addr.port, proxy.url, fx.pki.caCertPath, {
          user: "alice",
          password: PASSWORD,
        }),
        "hello relay",
      );
    } finally {
      server.close();
    }
  },
);

Deno.test(
  "http proxy: a connector registers through tinyproxy with Basic auth and serves flows",
  opts,
  async () => {
    await using fx = await Fixture.create("http-proxy-role");
    const backend = httpBackend("B");
    await using proxy = await startTinyproxy(fx.dir, {
      basicAuth: { user: "alice", password: PASSWORD },
    });
    try {
      const relayPort = freeUdpPort();
      await fx.relay(relayPort);
      const credentials = `${fx.dir}/proxy.credentials`;
      await Deno.writeTextFile(credentials, `alice:${PASSWORD}\n`, { mode: 0o600 });
      const token = (await fx.token("connector", { services: ["web"] })).path;
      const connector = await fx.connector(
        [relayPort],
        { web: `127.0.0.1:${backend.port}` },
        token,
        {
          extra: `proxy = "${proxy.url}"\nproxy_credentials_file = "${credentials}"`,
        },
      );
      // transport = "auto" with a proxy in use: TCP through it, no QUIC attempt.
      assert.match(connector.output, /Connected to relay [^\n]* over "?tcp/);
      assert.ok(proxy.connects.includes(`CONNECT 127.0.0.1:${relayPort} HTTP/1.1`), proxy.output);
      const local = freeTcpPort();
      await fx.client(
        [relayPort],
        { [`127.0.0.1:${local}`]: "web" },
        (await fx.token("client", { services: ["web"] })).path,
      );
      assert.equal(await backendBehind(local), "B");
      // A client through the same proxy (its sandbox's network names the proxy, not only relays).
      const viaProxy = freeTcpPort();
      // The TCP transport opens a TLS connection per flow (and the connector keeps idle ones), so
      // the proxy sees many CONNECTs; the client's add to them.
      const before = proxy.connects.length;
      const client = await fx.client(
        [relayPort],
        { [`127.0.0.1:${viaProxy}`]: "web" },
        (await fx.token("client", { services: ["web"] })).path,
        {
          extra:
            `direct = false\nproxy = "${proxy.url}"\nproxy_credentials_file = "${credentials}"`,
        },
      );
      assert.match(client.output, /Connected to relay [^\n]* over "?tcp/);
      assert.equal(await backendBehind(viaProxy), "B");
      assert.ok(proxy.connects.length > before, "the client's connections went through the proxy");

      // The same proxy without credentials: a clear error, and it keeps trying (no crash).
      const bare = await fx.connector([relayPort], { web: `127.0.0.1:${backend.port}` }, token, {
        extra: `proxy = "${proxy.url}"`,
        wait: /the proxy needs credentials \(407/,
      });
      // Neither the password nor its Basic encoding appears in any output.
      const basic = btoa(`alice:${PASSWORD}`);
      for (const p of [connector, client, bare]) {
        assert.ok(!p.output.includes(PASSWORD) && !p.output.includes(basic), "no password");
      }
    } finally {
      await backend.shutdown();
    }
  },
);
