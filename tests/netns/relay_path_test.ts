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
