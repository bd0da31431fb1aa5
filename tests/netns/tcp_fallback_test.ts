/**
 * The TCP transport where UDP is blocked, in the NAT lab: natA drops all UDP from the client's
 * network, so a client with `transport = "auto"` (the default) reaches the service over TLS on TCP
 * within 3 s of its start; when UDP is unblocked mid-session the client moves to QUIC (probed every
 * second here) and new connections keep working. The connector's network (natB) blocks UDP too: it
 * serves over TCP (idle OFFER connections) and moves to QUIC the same way (its TCP link retired).
 * Needs root; skipped with the reason where namespaces cannot be made.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";
import { LAB_ADDRESSES as ADDR, NatLab, peerCommand } from "./_lab.ts";

const available = await NatLab.available();
if (!available.ok) console.log(`tests/netns skipped: ${available.why}`);

/** Milliseconds since the epoch of the first log line matching `re` in `output`. */
function logTime(output: string, re: RegExp): number {
  const line = output.split("\n").find((l) => re.test(l));
  assert.ok(line, `no log line matching ${re}`);
  return Date.parse(line.slice(0, 24));
}

Deno.test({
  name: "client and connector behind UDP-blocking networks work over TCP, then move to QUIC",
  ignore: !available.ok,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using lab = await NatLab.create();
    await using fx = await Fixture.create("netns-tcp", { relayHost: ADDR.relay });
    await lab.spawn("srvB", peerCommand("http", "127.0.0.1", "8080", "backend-B"))
      .waitFor(/listening/);
    const block = async (op: "-I" | "-D") => {
      for (const nat of ["natA", "natB"] as const) {
        const r = await lab.exec(nat, ["iptables", "-w", op, "FORWARD", "-p", "udp", "-j", "DROP"]);
        assert.equal(r.code, 0, r.stderr);
      }
    };
    await block("-I");

    const relayPort = freeUdpPort();
    await fx.relay(relayPort, "", "", "", undefined, { wrapper: lab.wrapper("pub") });
    const connector = await fx.connector(
      [relayPort],
      { web: "127.0.0.1:8080" },
      (await fx.token("connector", { services: ["web"] })).path,
      { wrapper: lab.wrapper("srvB"), extra: "quic_probe_ms = 1000" },
    );
    assert.match(connector.output, /Connected to relay .* over tcp/);
    const client = await fx.client(
      [relayPort],
      { "127.0.0.1:8081": "web" },
      (await fx.token("client", { services: ["web"] })).path,
      { wrapper: lab.wrapper("cliA"), extra: "quic_probe_ms = 1000" },
    );
    await client.waitFor(/Connected to relay .* over tcp/);
    const curl = () =>
      lab.exec("cliA", ["curl", "-sS", "--max-time", "5", "http://127.0.0.1:8081/hello"]);
    const first = await curl();
    assert.equal(first.stdout, "backend-B GET /hello", first.stderr);
    const startedAt = logTime(client.output, /Starting ztna/);
    const connectedAt = logTime(client.output, /Connected to relay .* over tcp/);
    assert.ok(connectedAt - startedAt < 3_000, `on TCP ${connectedAt - startedAt} ms after start`);

    // UDP comes back: the next probe authenticates over QUIC and new flows go there.
    await block("-D");
    for (const peer of [client, connector]) {
      await peer.waitFor(/QUIC to relay .* works again/, 10_000);
      await peer.waitFor(/Connected to relay .* over quic/, 5_000);
    }
    for (let i = 0; i < 5; i++) {
      const r = await curl();
      assert.equal(r.stdout, "backend-B GET /hello", `request ${i} after the move: ${r.stderr}`);
    }
    assert.equal((await client.stop()).code, 0);
  },
});
