/**
 * The connector's local status endpoint (`[connector] status_listen`): /metrics and /status read
 * while a flow is held open, after flows that ended, a backend that refuses, and (in the test build
 * whose allow-list is bypassed) a dial the egress sandbox refused.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { tcpServer } from "../_helpers/tcp.ts";
import { udpClient, udpEcho } from "../_helpers/udp.ts";
import { REPO_ROOT } from "../_helpers/ztna_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Reads `/metrics` until `re` matches (flows end asynchronously), at most ~5 s. */
async function metricsMatching(base: string, re: RegExp): Promise<string> {
  let text = "";
  for (let i = 0; i < 50; i++) {
    text = await (await fetch(`${base}/metrics`)).text();
    if (re.test(text)) return text;
    await new Promise((r) => setTimeout(r, 100));
  }
  return text;
}

async function curl(port: number): Promise<string> {
  const out = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "10", `http://127.0.0.1:${port}/x`],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

Deno.test(
  "connector status_listen serves /metrics and /status while a flow runs",
  opts,
  async () => {
    await using fx = await Fixture.create("connector-status");
    const web = httpBackend("web-A");
    const hold = tcpServer(async (conn) => {
      const buf = new Uint8Array(1024);
      for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
        await conn.write(buf.subarray(0, n));
      }
    });
    try {
      const relayPort = freeUdpPort();
      await fx.relay(relayPort);
      const [statusPort, deadPort] = [freeTcpPort(), freeTcpPort()];
      const connector = fx.spawn([
        "--role=connector",
        "--config",
        await fx.config(`
[connector]
relays = [{ address = "127.0.0.1:${relayPort}", server_name = "localhost" }]
ca = "${fx.pki.caCertPath}"
token_file = "${(await fx.token("connector", { services: ["web", "hold", "dead"] })).path}"
status_listen = "127.0.0.1:${statusPort}"
# One link per relay: relay_links_up below counts links (a TCP lane is a second one).
tcp_lane = false
[[connector.service]]
id = "web"
backend = "127.0.0.1:${web.port}"
[[connector.service]]
id = "hold"
backend = "127.0.0.1:${hold.port}"
[[connector.service]]
id = "dead"
backend = "127.0.0.1:${deadPort}"
`),
      ], "connector");
      await connector.waitFor(/Registered service dead/);
      await connector.waitFor(/Status endpoint on http:\/\/127\.0\.0\.1:\d+\/status/);
      const ports = { web: freeTcpPort(), hold: freeTcpPort(), dead: freeTcpPort() };
      const client = await fx.client(
        [relayPort],
        Object.fromEntries(Object.entries(ports).map(([s, p]) => [`127.0.0.1:${p}`, s])),
        (await fx.token("client", { services: ["*"] })).path,
        { extra: "direct = false" },
      );
      assert.equal(await curl(ports.web), "web-A GET /x 0");
      assert.equal(await curl(ports.web), "web-A GET /x 0");
      assert.equal(await curl(ports.dead), "");
      await client.waitFor(/Flow to dead refused: backend_refused/);
      const held = await Deno.connect({ hostname: "127.0.0.1", port: ports.hold });
      try {
        await held.write(new TextEncoder().encode("ping"));
        assert.ok((await held.read(new Uint8Array(16))) === 4, "the held flow echoes");

        const base = `http://127.0.0.1:${statusPort}`;
        const metrics = await metricsMatching(
          base,
          /ztna_connector_flows_active\{service="web",protocol="tcp"\} 0/,
        );
        assert.match(metrics, /^ztna_connector_data_planes\{state="current"\} 1$/m);
        assert.match(
          metrics,
          new RegExp(
            `^ztna_connector_relay_links_up\\{relay="127\\.0\\.0\\.1:${relayPort}"\\} 1$`,
            "m",
          ),
        );
        assert.match(metrics, /^ztna_connector_registrations\{service="web"\} 1$/m);
        assert.match(
          metrics,
          /^ztna_connector_flows_opened_total\{service="web",protocol="tcp"\} 2$/m,
        );
        assert.match(metrics, /^ztna_connector_flows_active\{service="hold",protocol="tcp"\} 1$/m);
        assert.match(
          metrics,
          /^ztna_connector_bytes_total\{service="web",direction="from_backend"\} [1-9]\d*$/m,
        );
        assert.match(
          metrics,
          /^ztna_connector_drops_total\{service="dead",reason="backend_refused"\} 1$/m,
        );

        const res = await fetch(`${base}/status`);
        assert.equal(res.headers.get("content-type"), "application/json");
        const status = await res.json();
        assert.deepEqual(status.services.map((s: { id: string }) => s.id), ["web", "hold", "dead"]);
        assert.equal(status.data_planes.length, 1);
        assert.equal(status.data_planes[0].links[0].relay, `127.0.0.1:${relayPort}`);
        assert.deepEqual([...status.data_planes[0].links[0].services].sort(), [
          "dead",
          "hold",
          "web",
        ]);
        assert.ok(
          status.flows.some((f: { service: string; active: number }) =>
            f.service === "hold" && f.active === 1
          ),
          "the held flow is active in /status",
        );
        assert.equal((await fetch(`${base}/nope`)).status, 404);
      } finally {
        held.close();
      }
    } finally {
      await web.shutdown();
      hold.close();
    }
  },
);

Deno.test(
  "connector status counts a dial the egress sandbox refused (allow-list bypassed)",
  opts,
  async () => {
    await using fx = await Fixture.create("connector-status-egress");
    const listed = httpBackend("listed");
    const unlisted = tcpServer(() => Promise.resolve());
    try {
      const relayPort = freeUdpPort();
      await fx.relay(relayPort);
      const statusPort = freeTcpPort();
      const path = await fx.config(`
[connector]
relays = [{ address = "127.0.0.1:${relayPort}", server_name = "localhost" }]
ca = "${fx.pki.caCertPath}"
token_file = "${(await fx.token("connector")).path}"
status_listen = "127.0.0.1:${statusPort}"
[[connector.service]]
id = "web"
backend = "127.0.0.1:${listed.port}"
`);
      const connector = fx.spawn([path], "unchecked-connector", {
        entry: `${REPO_ROOT}/tests/_builds/unchecked_connector.ts`,
        env: { ZTNA_TEST_REDIRECT: `127.0.0.1:${unlisted.port}` },
      });
      await connector.waitFor(/Registered service/);
      const local = freeTcpPort();
      const client = await fx.client(
        [relayPort],
        { [`127.0.0.1:${local}`]: "web" },
        (await fx.token("client")).path,
        { extra: "direct = false" },
      );
      assert.equal(await curl(local), "");
      await client.waitFor(/Flow to "?web"? refused: "?egress_denied/);
      const metrics = await metricsMatching(
        `http://127.0.0.1:${statusPort}`,
        /ztna_connector_egress_refusals_total\{service="web"\} 1/,
      );
      assert.match(metrics, /^ztna_connector_egress_refusals_total\{service="web"\} 1$/m);
      assert.match(
        metrics,
        /^ztna_connector_drops_total\{service="web",reason="egress_denied"\} 1$/m,
      );
    } finally {
      await listed.shutdown();
      unlisted.close();
    }
  },
);

Deno.test("connector status counts flows that came over a direct path", opts, async () => {
  await using fx = await Fixture.create("connector-status-direct");
  const backend = httpBackend("backend");
  try {
    const relayPort = freeUdpPort();
    await fx.relay(relayPort);
    const statusPort = freeTcpPort();
    const { client, local } = await fx.attach([relayPort], backend.port, {
      connector: { extra: `direct = true\nstatus_listen = "127.0.0.1:${statusPort}"` },
      client: { extra: "direct = true", logLevel: "debug" },
    });
    await client.waitFor(/Direct path to "?web"? is up/, 15_000);
    assert.equal(await curl(local), "backend GET /x 0");
    await client.waitFor(/open via "?direct/);
    const metrics = await metricsMatching(
      `http://127.0.0.1:${statusPort}`,
      /ztna_connector_flows_opened_total\{service="web",protocol="tcp"\} 1/,
    );
    assert.match(metrics, /^ztna_connector_flows_opened_total\{service="web",protocol="tcp"\} 1$/m);
  } finally {
    await backend.shutdown();
  }
});

Deno.test("connector status counts the payload bytes of ended UDP flows", opts, async () => {
  await using fx = await Fixture.create("connector-status-udp");
  const echo = udpEcho();
  const relayPort = freeUdpPort();
  await fx.relay(relayPort);
  const statusPort = freeTcpPort();
  const connector = await fx.connector(
    [relayPort],
    { uecho: { backend: `127.0.0.1:${echo.port}`, protocol: "udp" } },
    (await fx.token("connector", { services: ["uecho"] })).path,
    { extra: `status_listen = "127.0.0.1:${statusPort}"\nudp_idle_timeout_ms = 800` },
  );
  await connector.waitFor(/Status endpoint on/);
  const localPort = freeUdpPort();
  await fx.client(
    [relayPort],
    { [`127.0.0.1:${localPort}`]: "uecho@udp" },
    (await fx.token("client", { services: ["uecho"] })).path,
    { extra: "direct = false" },
  );
  const local = udpClient(localPort);
  try {
    // Three 10-byte datagrams, each echoed: 30 bytes each way once the flow has idled out.
    for (let i = 0; i < 3; i++) {
      await local.send(new Uint8Array(10).fill(i));
      assert.equal((await local.receive(10_000))?.byteLength, 10, `echo ${i}`);
    }
    const metrics = await metricsMatching(
      `http://127.0.0.1:${statusPort}`,
      /ztna_connector_flows_active\{service="uecho",protocol="udp"\} 0/,
    );
    assert.match(
      metrics,
      /^ztna_connector_flows_opened_total\{service="uecho",protocol="udp"\} 1$/m,
    );
    assert.match(
      metrics,
      /^ztna_connector_bytes_total\{service="uecho",direction="to_backend"\} 30$/m,
    );
    assert.match(
      metrics,
      /^ztna_connector_bytes_total\{service="uecho",direction="from_backend"\} 30$/m,
    );
  } finally {
    local.close();
    echo.close();
  }
});
