/**
 * The TCP lane end to end on loopback (`tcp_lane = true`, transport "auto"): a client and a
 * connector on QUIC each keep a TLS-over-TCP link to the same relay; a TCP flow rides TCP on both
 * legs, a UDP flow (dig → dnsmasq) rides QUIC, and once the client's lane is gone its TCP flows
 * take QUIC; a relay without a TCP listener is served over QUIC alone.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { adminCall, eventually } from "../_helpers/admin_http.ts";
import { echoAfterEofServer, tcpRequest } from "../_helpers/tcp.ts";
import { startDnsmasq } from "../_helpers/dnsmasq.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
/** The lane on; its retry after a loss far away, so the test sees the QUIC fallback. */
const LANE = `tcp_lane = true\nquic_probe_ms = 600000`;

interface Conn {
  connId: string;
  role: string;
  transport: string;
  bytesIn: number;
  bytesOut: number;
}

/** `n` echoes one after the other, each its own flow (round robin would alternate members). */
async function echoes(port: number, n: number, size: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const payload = new TextEncoder().encode("e".repeat(size));
    const back = new TextDecoder().decode(await tcpRequest(port, payload));
    assert.equal(back, `echo:${"e".repeat(size)}`);
  }
}

async function dig(port: number): Promise<string> {
  const out = await new Deno.Command("dig", {
    args: ["@127.0.0.1", "-p", String(port), "app.example.test", "A", "+short", "+tries=3"],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test(
  "tcp lane: TCP flows ride TCP on both legs, UDP flows QUIC, a lost lane falls back to QUIC",
  opts,
  async () => {
    await using fx = await Fixture.create("lane");
    const web = httpBackend("backend-L");
    const echo = echoAfterEofServer();
    const dnsPort = freeUdpPort();
    const dnsmasq = startDnsmasq(dnsPort);
    try {
      const relayPort = freeUdpPort();
      const { relay, url, adminToken } = await fx.adminRelay(relayPort);
      await relay.waitFor(/Relay TCP transport listening on/);
      const api = async (path: string, method = "GET") =>
        (await adminCall(url, path, { token: adminToken, method })).text;
      const conns = async () =>
        (JSON.parse(await api("/api/v1/connections")) as { items: Conn[] }).items;
      const one = (list: Conn[], role: string, transport: string) => {
        const found = list.filter((c) => c.role === role && c.transport === transport);
        assert.equal(found.length, 1, `one ${role} connection over ${transport}`);
        return found[0];
      };
      const connector = await fx.connector(
        [relayPort],
        {
          web: `127.0.0.1:${web.port}`,
          echo: `127.0.0.1:${echo.port}`,
          dns: { backend: `127.0.0.1:${dnsPort}`, protocol: "udp" },
        },
        (await fx.token("connector", { services: ["web", "echo", "dns"] })).path,
        { extra: LANE },
      );
      await connector.waitFor(/Connected to relay .* over quic/);
      await connector.waitFor(/Connected to relay .* over tcp/);
      // Both links of the connector serve web: its QUIC link and its lane.
      await eventually("both connector links registered", async () => {
        const list = await conns();
        const c = list.filter((x) => x.role === "connector");
        return c.length === 2 && new Set(c.map((x) => x.transport)).size === 2 ? c : undefined;
      });
      const [w, e, dnsLocal] = [freeTcpPort(), freeTcpPort(), freeUdpPort()];
      const client = await fx.client(
        [relayPort],
        {
          [`127.0.0.1:${w}`]: "web",
          [`127.0.0.1:${e}`]: "echo",
          [`127.0.0.1:${dnsLocal}`]: "dns@udp",
        },
        (await fx.token("client", { services: ["web", "echo", "dns"] })).path,
        { extra: LANE },
      );
      await client.waitFor(/Connected to relay .* over quic/);
      await client.waitFor(/TCP lane open/);

      // A TCP flow: client lane → relay → connector lane; nothing of it on QUIC.
      const res = await fetch(`http://127.0.0.1:${w}/lane`, {
        method: "POST",
        body: "y".repeat(5000),
      });
      assert.equal(await res.text(), "backend-L POST /lane 5000");
      await echoes(e, 4, 1000);
      let list = await conns();
      assert.ok(one(list, "client", "tcp").bytesIn >= 5000, JSON.stringify(list));
      assert.equal(one(list, "client", "quic").bytesIn, 0, JSON.stringify(list));
      assert.ok(one(list, "connector", "tcp").bytesOut >= 5000, JSON.stringify(list));
      assert.equal(one(list, "connector", "quic").bytesOut, 0, JSON.stringify(list));
      const metrics = await api("/metrics");
      assert.match(metrics, /^ztna_connections_by_transport_total\{transport="tcp"\} 2$/m);
      assert.match(metrics, /^ztna_connections_by_transport_total\{transport="quic"\} 2$/m);

      // A UDP flow rides QUIC on both legs.
      assert.equal(await dig(dnsLocal), "192.0.2.7");
      const afterUdp = await conns();
      assert.ok(one(afterUdp, "client", "quic").bytesIn > 0, JSON.stringify(afterUdp));
      assert.ok(one(afterUdp, "connector", "quic").bytesOut > 0, JSON.stringify(afterUdp));
      assert.equal(
        one(afterUdp, "client", "tcp").bytesIn,
        one(list, "client", "tcp").bytesIn,
        "no UDP byte on the lane",
      );

      // The client's lane goes (kicked): its TCP flows take QUIC, no error for the user.
      const lane = one(afterUdp, "client", "tcp");
      await api(`/api/v1/connections/${lane.connId}/kick`, "POST");
      await client.waitFor(/TCP lane to the relay not available/);
      list = await conns();
      const quicBefore = one(list, "client", "quic").bytesIn;
      const again = await fetch(`http://127.0.0.1:${w}/quic`, {
        method: "POST",
        body: "z".repeat(7000),
      });
      assert.equal(await again.text(), "backend-L POST /quic 7000");
      await echoes(e, 4, 1000);
      list = await conns();
      assert.ok(one(list, "client", "quic").bytesIn >= quicBefore + 7000, JSON.stringify(list));
      assert.equal(list.filter((c) => c.role === "client").length, 1, "the lane stays away");
      // A flow from QUIC goes to the connector's QUIC link, not its lane.
      assert.ok(one(list, "connector", "quic").bytesOut >= 11000, JSON.stringify(list));
      assert.equal(
        one(list, "connector", "tcp").bytesOut,
        one(afterUdp, "connector", "tcp").bytesOut,
        "nothing more on the connector's lane",
      );
      assert.doesNotMatch(client.output, /Flow to web refused|Closed a local connection/);
    } finally {
      await web.shutdown();
      echo.close();
      try {
        dnsmasq.kill();
      } catch { /* it already ended */ }
      await dnsmasq.status;
    }
  },
);

Deno.test(
  "tcp lane: a relay without a TCP listener serves everything over QUIC",
  opts,
  async () => {
    await using fx = await Fixture.create("nolane");
    const web = httpBackend("backend-N");
    try {
      const relayPort = freeUdpPort();
      await fx.relay(relayPort, `tcp_listen = "off"`);
      const { connector, client, local } = await fx.attach([relayPort], web.port, {
        connector: { extra: LANE },
        client: { extra: LANE },
      });
      await client.waitFor(/TCP lane to the relay not available/);
      const res = await fetch(`http://127.0.0.1:${local}/q`);
      assert.equal(await res.text(), "backend-N GET /q 0");
      assert.equal(
        client.output.match(/TCP lane to the relay not available/g)?.length,
        1,
        "said once",
      );
      // The connector's lane retries (backoff up to 2 s here) and says so once, too.
      await connector.waitFor(/TCP lane to relay \S+ not available/);
      await new Promise((r) => setTimeout(r, 4_500));
      assert.equal(connector.output.match(/TCP lane to relay \S+ not available/g)?.length, 1);
      assert.ok(
        (connector.output.match(/Cannot reach relay .* over TCP/g)?.length ?? 0) <= 1,
        connector.output,
      );
    } finally {
      await web.shutdown();
    }
  },
);
