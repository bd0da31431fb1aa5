/**
 * A connector that can leave its network only through an HTTP proxy (tinyproxy on its NAT router,
 * every packet from it to the "internet" dropped) registers through the proxy over the TCP
 * transport and serves a client's flows across the NAT lab.
 * Needs root; skipped with the reason printed where namespaces cannot be made.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";
import { startTinyproxy } from "../_helpers/tinyproxy.ts";
import { LAB_ADDRESSES as ADDR, NatLab, peerCommand } from "./_lab.ts";

const available = await NatLab.available();
if (!available.ok) console.log(`tests/netns skipped: ${available.why}`);

Deno.test({
  name: "a connector behind an HTTP proxy only registers through it and serves flows",
  ignore: !available.ok,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using lab = await NatLab.create();
    await using fx = await Fixture.create("netns-proxy", { relayHost: ADDR.relay });
    await lab.spawn("srvB", peerCommand("http", "127.0.0.1", "8080", "backend-B"))
      .waitFor(/listening/);
    const relayPort = freeUdpPort();
    await fx.relay(relayPort, "", "", "", undefined, { wrapper: lab.wrapper("pub") });
    // srvB reaches nothing on the "internet" (198.18/16) itself, UDP or TCP: only its router's
    // proxy, on the LAN side.
    await using proxy = await startTinyproxy(fx.dir, {
      listen: ADDR.natBLan,
      port: 3128,
      allow: ["198.19.2.0/24"],
      wrapper: lab.wrapper("natB"),
    });
    const drop = ["iptables", "-w", "-A", "OUTPUT", "-d", "198.18.0.0/16", "-j", "DROP"];
    assert.equal((await lab.exec("srvB", drop)).code, 0);
    const connector = await fx.connector(
      [relayPort],
      { web: "127.0.0.1:8080" },
      (await fx.token("connector", { services: ["web"] })).path,
      { wrapper: lab.wrapper("srvB"), extra: `proxy = "${proxy.url}"` },
    );
    assert.match(connector.output, /Connected to relay [^\n]* over "?tcp/);
    assert.ok(proxy.connects.includes(`CONNECT ${ADDR.relay}:${relayPort} HTTP/1.1`));
    await fx.client(
      [relayPort],
      { "127.0.0.1:8081": "web" },
      (await fx.token("client", { services: ["web"] })).path,
      { wrapper: lab.wrapper("cliA") },
    );
    for (let i = 0; i < 3; i++) {
      const curl = await lab.exec("cliA", [
        "curl",
        "-sS",
        "--max-time",
        "10",
        `http://127.0.0.1:8081/n${i}`,
      ]);
      assert.equal(curl.stdout, `backend-B GET /n${i}`, curl.stderr);
    }
  },
});
