/**
 * Our own relay, connector and client across the NAT lab: the relay on the "internet", the
 * connector and its backend behind natB, the client behind natA; HTTP flows through the relay.
 * Needs root; on a machine that cannot make network namespaces it is skipped with the reason printed.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";
import { LAB_ADDRESSES as ADDR, NatLab, peerCommand } from "./_lab.ts";

const available = await NatLab.available();
if (!available.ok) console.log(`tests/netns skipped: ${available.why}`);

Deno.test({
  name: "tunnel carries HTTP between two NATed private networks through the relay",
  ignore: !available.ok,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using lab = await NatLab.create();
    await using fx = await Fixture.create("netns-relay", { relayHost: ADDR.relay });
    await lab.spawn("srvB", peerCommand("http", "127.0.0.1", "8080", "backend-B"))
      .waitFor(/listening/);

    const relayPort = freeUdpPort();
    const relay = await fx.relay(relayPort, "", "", "debug", undefined, {
      wrapper: lab.wrapper("pub"),
    });
    const connector = await fx.connector(
      [relayPort],
      { web: "127.0.0.1:8080" },
      (await fx.token("connector", { services: ["web"] })).path,
      { wrapper: lab.wrapper("srvB") },
    );
    const client = await fx.client(
      [relayPort],
      { "127.0.0.1:8081": "web" },
      (await fx.token("client", { services: ["web"] })).path,
      { wrapper: lab.wrapper("cliA") },
    );

    // The forward listens inside cliA, so the request starts there too.
    const curl = await lab.exec("cliA", [
      "curl",
      "-sS",
      "--max-time",
      "10",
      "http://127.0.0.1:8081/hello",
    ]);
    assert.equal(curl.stderr, "");
    assert.equal(curl.stdout, "backend-B GET /hello");

    // The relay met both peers at their NAT's public address, never a private one.
    for (const nat of [ADDR.natA, ADDR.natB]) {
      assert.match(relay.output, new RegExp(`${nat.replaceAll(".", "\\.")}:\\d+`));
    }
    assert.doesNotMatch(relay.output, /198\.19\./);

    // `ip netns exec` execs deno, so SIGTERM reaches the process itself and it drains cleanly.
    assert.equal((await client.stop()).code, 0);
    assert.equal((await connector.stop()).code, 0);
    assert.equal((await relay.stop()).code, 0);
  },
});

Deno.test({
  name: "a UDP forward bound to the client's LAN address answers another host on that LAN",
  ignore: !available.ok,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using lab = await NatLab.create();
    await using fx = await Fixture.create("netns-udplan", { relayHost: ADDR.relay });
    await lab.spawn("srvB", peerCommand("udp-echo", "127.0.0.1", "5353")).waitFor(/listening/);
    const relayPort = freeUdpPort();
    await fx.relay(relayPort, "", "", "info", undefined, { wrapper: lab.wrapper("pub") });
    await fx.connector(
      [relayPort],
      { dns: { backend: "127.0.0.1:5353", protocol: "udp" } },
      (await fx.token("connector", { services: ["dns"] })).path,
      { wrapper: lab.wrapper("srvB") },
    );
    // Without direct paths the client's sandbox lists its addresses; its answers to a LAN host
    // (natA's 198.19.1.1 here) need that host, which no config can name ahead of time.
    const client = await fx.client(
      [relayPort],
      { [`${ADDR.cliA}:5353`]: "dns@udp" },
      (await fx.token("client", { services: ["dns"] })).path,
      { wrapper: lab.wrapper("cliA"), extra: "direct = false" },
    );
    const probe = await lab.exec("natA", peerCommand("udp-probe", "5000", `${ADDR.cliA}:5353`));
    const { seen } = JSON.parse(probe.stdout) as { seen: Array<string | null> };
    // The echo names the connector's socket it saw: the datagram went through and came back.
    assert.match(seen[0] ?? "no answer", /^127\.0\.0\.1:\d+$/, client.output.slice(-2_000));
    assert.doesNotMatch(client.output, /NotCapable|Requires net access/);
  },
});
