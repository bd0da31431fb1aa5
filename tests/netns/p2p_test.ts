/**
 * Direct (P2P) paths across real NATs in network namespaces: the client behind natA, the connector
 * behind natB, the relay on the "internet". Endpoint-independent NAT on both sides → hole punching
 * succeeds and bulk data bypasses the relay; symmetric NAT on one side → punching fails in time and
 * flows use the relay without a user-visible error; a direct path cut mid-way → new flows fall back
 * within the detection bound and move back to direct once it works again; UDP flows take the direct
 * path too, with no datagram through the relay.
 * Needs root; skipped with the reason printed only where namespaces cannot be made.
 * @module
 */
import assert from "node:assert/strict";
import { generateAdminToken, hashAdminToken } from "../../src/admin/mod.ts";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";
import { metricSum } from "../_helpers/metrics.ts";
import { linesAtInfo, unconfiguredAddresses } from "../_helpers/log_lines.ts";
import { LAB_ADDRESSES as ADDR, NatLab, type NatType, peerCommand } from "./_lab.ts";

const available = await NatLab.available();
if (!available.ok) console.log(`tests/netns skipped: ${available.why}`);

const ADMIN_PORT = 9191;

/**
 * Relay in pub (with its admin endpoint for the byte counter), connector and its backends in
 * `connectorIn` (srvB behind natB, or cliA: behind the client's own NAT), client in cliA.
 */
async function p2pWorld(
  lab: NatLab,
  fx: Fixture,
  clientExtra = "",
  udp = false,
  connectorIn: "srvB" | "cliA" = "srvB",
) {
  await lab.spawn(connectorIn, peerCommand("http", "127.0.0.1", "8080", "backend-B")).waitFor(
    /listening/,
  );
  if (udp) {
    await lab.spawn(connectorIn, peerCommand("udp-echo", "127.0.0.1", "8053")).waitFor(
      /listening/,
    );
  }
  const services = udp ? ["web", "echo"] : ["web"];
  const adminToken = generateAdminToken();
  const relayPort = freeUdpPort();
  // Every role at debug: tests read its info lines as production shows them (I1, assertNoPeerAtInfo).
  const relay = await fx.relay(
    relayPort,
    "",
    "",
    "debug",
    `listen = "127.0.0.1:${ADMIN_PORT}"\ntoken_hashes = ["${await hashAdminToken(adminToken)}"]`,
    { wrapper: lab.wrapper("pub") },
  );
  const connector = await fx.connector(
    [relayPort],
    udp
      ? { web: "127.0.0.1:8080", echo: { backend: "127.0.0.1:8053", protocol: "udp" } }
      : { web: "127.0.0.1:8080" },
    (await fx.token("connector", { services })).path,
    { wrapper: lab.wrapper(connectorIn), extra: "direct = true", logLevel: "debug" },
  );
  const client = await fx.client(
    [relayPort],
    udp ? { "127.0.0.1:8081": "web", "127.0.0.1:8082": "echo@udp" } : { "127.0.0.1:8081": "web" },
    (await fx.token("client", { services })).path,
    { wrapper: lab.wrapper("cliA"), extra: `direct = true\n${clientExtra}`, logLevel: "debug" },
  );
  const relayed = async (metric: string) => {
    const r = await lab.exec("pub", [
      "curl",
      "-sS",
      "--max-time",
      "5",
      "-H",
      `Authorization: Bearer ${adminToken}`,
      `http://127.0.0.1:${ADMIN_PORT}/metrics`,
    ]);
    return metricSum(r.stdout, metric);
  };
  const relayedBytes = () => relayed("ztna_relayed_bytes_total");
  const relayedDatagrams = () => relayed("ztna_relayed_datagrams_total");
  const get = async (path: string) => {
    const r = await lab.exec("cliA", [
      "curl",
      "-sS",
      "--max-time",
      "30",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code} %{size_download}",
      `http://127.0.0.1:8081${path}`,
    ]);
    return r.stdout;
  };
  /** At info, no role names an address its config does not (the NATs' public ones included). */
  const assertNoPeerAtInfo = () => {
    const info = linesAtInfo(relay.output + connector.output + client.output);
    const configured = [`${ADDR.relay}:${relayPort}`, "127.0.0.1:8080", "127.0.0.1:8081"]
      .concat(udp ? ["127.0.0.1:8053", "127.0.0.1:8082"] : [], [`127.0.0.1:${ADMIN_PORT}`]);
    assert.deepEqual(unconfiguredAddresses(info, configured), [], "peer addresses at info");
  };
  return { relay, connector, client, relayedBytes, relayedDatagrams, get, assertNoPeerAtInfo };
}

function labTest(
  name: string,
  nat: { natA?: NatType; natB?: NatType },
  fn: (lab: NatLab, fx: Fixture) => Promise<void>,
) {
  Deno.test({
    name,
    ignore: !available.ok,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      await using lab = await NatLab.create(nat);
      await using fx = await Fixture.create("p2p", { relayHost: ADDR.relay });
      await fn(lab, fx);
    },
  });
}

labTest(
  "p2p: endpoint-independent NAT on both sides → direct path; 64 MiB bypass the relay",
  {},
  async (lab, fx) => {
    const w = await p2pWorld(lab, fx);
    await w.client.waitFor(/Direct path to "?web"? is up/, 20_000);
    const before = await w.relayedBytes();
    assert.equal(await w.get(`/bytes/${64 * 1024 * 1024}`), `200 ${64 * 1024 * 1024}`);
    const after = await w.relayedBytes();
    assert.ok(after - before < 64 * 1024, `relayed bytes stayed flat: +${after - before}`);
    assert.match(w.client.output, /open via "?direct/);
    // The connector saw the client at natA's public address: the path really crosses both NATs.
    assert.match(w.connector.output, /Direct path from "?client-\d+"? for "?web"? accepted/);
    w.assertNoPeerAtInfo();
  },
);

labTest(
  "p2p: symmetric NAT on one side → punching fails in time, flows use the relay",
  { natA: "symmetric" },
  async (lab, fx) => {
    const w = await p2pWorld(lab, fx);
    await w.client.waitFor(/Direct path to "?web"? failed: .*; using the relay/, 20_000);
    assert.equal(await w.get("/hello"), "200 20");
    assert.match(w.client.output, /open via "?relay/);
    assert.doesNotMatch(w.client.output, /Direct path to "?web"? is up/);
  },
);

labTest(
  "p2p: direct path cut mid-way → relay within the detection bound, back to direct after restore",
  {},
  async (lab, fx) => {
    const w = await p2pWorld(lab, fx, "direct_retry_ms = 2000");
    await w.client.waitFor(/Direct path to "?web"? is up/, 20_000);
    await lab.cutDirect();
    const cutAt = Date.now();
    await w.client.waitFor(/Direct path to "?web"? lost; using the relay/, 15_000);
    const detectedMs = Date.now() - cutAt;
    assert.ok(
      detectedMs <= 5_000 + 2_000,
      `detected in ${detectedMs} ms (bound: 5 s idle timeout)`,
    );
    const relayedBefore = await w.relayedBytes();
    assert.equal(await w.get("/hello"), "200 20", "a new flow works through the relay");
    assert.ok((await w.relayedBytes()) > relayedBefore, "and it went through the relay");
    await lab.restoreDirect();
    await w.client.waitFor(/(Direct path to "?web"? is up[\s\S]*){2}/, 30_000);
    const before = await w.relayedBytes();
    assert.equal(await w.get(`/bytes/${1024 * 1024}`), `200 ${1024 * 1024}`);
    assert.ok((await w.relayedBytes()) - before < 64 * 1024, "the next flows go direct again");
  },
);

labTest(
  "p2p: UDP flows take the direct path across both NATs; the relay carries none of their datagrams",
  {},
  async (lab, fx) => {
    const w = await p2pWorld(lab, fx, "", true);
    await w.client.waitFor(/Direct path to "?echo"? is up/, 20_000);
    const before = await w.relayedDatagrams();
    // Each probe is a fresh local socket: a new UDP flow, answered by the echo behind natB.
    for (let i = 0; i < 3; i++) {
      const r = await lab.exec("cliA", peerCommand("udp-probe", "5000", "127.0.0.1:8082"));
      const { seen } = JSON.parse(r.stdout) as { seen: (string | null)[] };
      assert.match(
        seen[0] ?? "no answer",
        /^127\.0\.0\.1:\d+$/,
        "the echo answered via the tunnel",
      );
    }
    assert.equal(await w.relayedDatagrams(), before, "no datagram went through the relay");
    assert.match(w.client.output, /UDP flow .* open via "?direct/);
    assert.doesNotMatch(w.client.output, /UDP flow .* open via "?relay/);
  },
);

labTest(
  "p2p: client and connector behind the same NAT (no hairpinning) → direct via a host candidate",
  {},
  async (lab, fx) => {
    const w = await p2pWorld(lab, fx, "", false, "cliA");
    // The relay sees both at natA's public address; natA does not loop a packet to its own public
    // address back inside, so only the connector's own interface address can work.
    const up = await w.client.waitFor(/Direct path to "?web"? goes via "?([\d.]+):\d+/, 20_000);
    assert.equal(up[1], ADDR.cliA, "the path uses the connector's interface address");
    assert.match(
      w.client.output,
      new RegExp(`Dialing "?${ADDR.natA.replaceAll(".", "\\.")}:\\d+ `),
    );
    const before = await w.relayedBytes();
    assert.equal(await w.get(`/bytes/${1024 * 1024}`), `200 ${1024 * 1024}`);
    assert.ok((await w.relayedBytes()) - before < 64 * 1024, "the transfer bypassed the relay");
  },
);

labTest(
  "p2p: a NAT rebinding moves the client; the relay tells it its new observed address",
  { natA: "symmetric" },
  async (lab, fx) => {
    const w = await p2pWorld(lab, fx);
    await w.client.waitFor(/Direct path to "?web"? failed/, 20_000); // symmetric: relay only
    // Let natA forget the client's mapping: a 1 s conntrack timeout and 1.3 s in which no packet of
    // that flow reaches conntrack (raw table, before it) — well within the 3 s idle timeout.
    await lab.setUdpTimeouts("natA", { unrepliedS: 1, streamS: 1 });
    await new Promise((r) => setTimeout(r, 700)); // keep-alives put the mapping on the 1 s timeout
    await lab.hideFromConntrack("natA", ADDR.relay, true);
    await new Promise((r) => setTimeout(r, 1_300));
    await lab.hideFromConntrack("natA", ADDR.relay, false);
    // The next packet gets a fresh random port (symmetric NAT); QUIC migrates the connection.
    const moved = await w.relay.waitFor(
      /moved from "?198\.18\.0\.2:(\d+)"? to "?198\.18\.0\.2:(\d+)/,
      15_000,
    );
    assert.notEqual(moved[2], moved[1]);
    await w.client.waitFor(
      new RegExp(`The relay now sees us at "?198\\.18\\.0\\.2:${moved[2]}`),
      5_000,
    );
    assert.equal(await w.get("/hello"), "200 20", "the session survived the rebinding");
    w.assertNoPeerAtInfo();
  },
);
