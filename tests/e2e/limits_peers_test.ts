/**
 * The connector's and the client's own limits biting, against real processes set to a small value:
 * max_udp_flows and max_udp_flows_per_identity and connect_timeout_ms at the connector,
 * max_udp_flows and udp_queue_depth at the client, udp_queue_depth at the connector. Connectors and
 * clients serve no /metrics: a refused flow is counted by the relay it crosses
 * (ztna_flows_refused_total), and UDP drops by the process itself in the line it logs when it stops.
 * @module
 */
import assert from "node:assert/strict";
import { closeFlowStream, type OpenedFlow, requestFlow } from "../../src/client/request_flow.ts";
import { eventually } from "../_helpers/admin_http.ts";
import { Fixture, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { LIMIT_TEST, limitedRelay, sleep } from "../_helpers/limits.ts";
import { processState } from "../_helpers/proc.ts";
import { rawSession } from "../_helpers/raw_peer.ts";
import { udpClient, udpEcho, udpSink } from "../_helpers/udp.ts";
import type { ZtnaProcess } from "../_helpers/ztna_process.ts";

/** Opens a flow to `service` on a raw session; returns the open flow or the refusal code. */
async function open(
  conn: Deno.QuicConn,
  service: string,
  protocol: "tcp" | "udp",
): Promise<OpenedFlow | string> {
  const req = await requestFlow({ conn }, service, protocol, 15_000);
  return req.ok ? req.flow : req.code;
}

/** The UDP drop counts a connector or client logged when it stopped, by reason. */
function loggedDrops(p: ZtnaProcess, who: RegExp): Record<string, number> {
  const line = p.output.split("\n").find((l) => who.test(l)) ?? "";
  const counts = line.slice(line.indexOf("{"));
  return Object.fromEntries(
    [...counts.matchAll(/"?(\w+)"?: ?(\d+)/g)].map((m) => [m[1], Number(m[2])]),
  );
}

/** Freezes `p` (SIGSTOP) until the returned function lets it run again. */
async function freeze(p: ZtnaProcess): Promise<() => void> {
  p.kill("SIGSTOP");
  for (let i = 0; i < 50 && (await processState(p.pid)) !== "T"; i++) await sleep(20);
  return () => p.kill("SIGCONT");
}

Deno.test(
  "connector max_udp_flows_per_identity and max_udp_flows: flows beyond them are refused limit_exceeded",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("lim-udpflows");
    const backend = httpBackend("honest");
    const echo = udpEcho();
    try {
      const w = await limitedRelay(fx, backend.port, "");
      const connector = await fx.connector(
        [w.relayPort],
        { echo: { backend: `127.0.0.1:${echo.port}`, protocol: "udp" } },
        (await fx.token("connector", { services: ["echo"] })).path,
        { extra: "max_udp_flows = 2\nmax_udp_flows_per_identity = 1" },
      );
      const session = async (subject: string) =>
        await rawSession(
          w.relayPort,
          w.caPem,
          (await fx.token("client", { subject, services: ["echo"] })).token,
        );
      const [alice, bob, carol] = [
        await session("alice"),
        await session("bob"),
        await session("carol"),
      ];
      const before = await w.scrape();
      const aliceFirst = await open(alice.conn, "echo", "udp");
      assert.ok(typeof aliceFirst !== "string", `alice's first flow opens: ${String(aliceFirst)}`);
      assert.equal(await open(alice.conn, "echo", "udp"), "limit_exceeded", "alice's second");
      await connector.waitFor(
        /Flow \d+ to "?echo"? failed: "?limit_exceeded"? \("?max_udp_flows_per_identity = 1 reached for \\?"alice/,
      );
      // Bob is another identity: his flow opens, and the connector is at its total of two.
      const bobs = await open(bob.conn, "echo", "udp");
      assert.ok(typeof bobs !== "string", `bob's flow opens: ${String(bobs)}`);
      assert.equal(await open(carol.conn, "echo", "udp"), "limit_exceeded", "carol's");
      await connector.waitFor(
        /Flow \d+ to "?echo"? failed: "?limit_exceeded"? \("?max_udp_flows = 2 reached/,
      );
      await w.relay.waitFor(/Flow \d+ to "?echo"? failed at the connector: "?limit_exceeded/);
      const after = await w.scrape();
      assert.deepEqual(after.movedSince(before, "ztna_flows_refused_total"), { limit_exceeded: 2 });
      assert.equal(after.since(before, "ztna_flows_opened_total", { service: "echo/udp" }), 2);
      await w.honestServed();
      // Once alice's flow ends, its place is free again: carol gets one.
      await closeFlowStream(aliceFirst, "done");
      const carols = await eventually("carol's flow to open", async () => {
        const r = await open(carol.conn, "echo", "udp");
        return typeof r === "string" ? undefined : r;
      });
      for (const f of [bobs, carols]) if (typeof f !== "string") await closeFlowStream(f, "done");
      for (const s of [alice, bob, carol]) s.conn.close({ closeCode: 0, reason: "" });
    } finally {
      echo.close();
      await backend.shutdown();
    }
  },
);

Deno.test(
  "client max_udp_flows and udp_queue_depth: extra sources and datagrams are dropped and counted",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("lim-clientudp");
    const backend = httpBackend("honest");
    const echo = udpEcho();
    try {
      const w = await limitedRelay(fx, backend.port, "");
      const connector = await fx.connector(
        [w.relayPort],
        { echo: { backend: `127.0.0.1:${echo.port}`, protocol: "udp" } },
        (await fx.token("connector", { services: ["echo"] })).path,
      );
      const port = freeUdpPort();
      const client = await fx.client(
        [w.relayPort],
        { [`127.0.0.1:${port}`]: "echo@udp" },
        (await fx.token("client", { services: ["echo"] })).path,
        { extra: "max_udp_flows = 1\nudp_queue_depth = 4" },
      );
      const before = await w.scrape();
      // With the connector frozen the first source's flow stays in its opening: the client holds
      // four of its datagrams and drops the other six; a second source finds the one flow taken.
      const thaw = await freeze(connector);
      const first = udpClient(port);
      const second = udpClient(port);
      try {
        try {
          for (let i = 0; i < 10; i++) await first.send(new TextEncoder().encode(`q${i}`));
          for (let i = 0; i < 3; i++) await second.send(new TextEncoder().encode(`x${i}`));
          await sleep(300); // the client reads them all
          await w.honestServed(); // another connector's service is served meanwhile
        } finally {
          thaw();
        }
        const answers: string[] = [];
        for (let reply; (reply = await first.receive(1_500)) !== null;) {
          answers.push(new TextDecoder().decode(reply));
        }
        assert.deepEqual(answers.sort(), ["q0", "q1", "q2", "q3"]);
        assert.equal(await second.receive(200), null, "the second source got no flow");
      } finally {
        first.close();
        second.close();
      }
      const after = await w.scrape();
      assert.equal(after.since(before, "ztna_flows_opened_total", { service: "echo/udp" }), 1);
      assert.equal(after.since(before, "ztna_relayed_datagrams_total"), 8, "4 each way");
      await client.stop();
      assert.deepEqual(loggedDrops(client, /UDP drops at this client for "?echo/), {
        queue_full: 6,
        flow_limit: 3,
      });
    } finally {
      echo.close();
      await backend.shutdown();
    }
  },
);

Deno.test(
  "connector udp_queue_depth: datagrams beyond its queue are dropped and counted",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("lim-connudp");
    const backend = httpBackend("honest");
    const sink = udpSink();
    try {
      const w = await limitedRelay(fx, backend.port, "");
      const connector = await fx.connector(
        [w.relayPort],
        { sink: { backend: `127.0.0.1:${sink.port}`, protocol: "udp" } },
        (await fx.token("connector", { services: ["sink"] })).path,
        { extra: "udp_queue_depth = 1" },
      );
      const port = freeUdpPort();
      const flooder = await fx.client(
        [w.relayPort],
        { [`127.0.0.1:${port}`]: "sink@udp" },
        (await fx.token("client", { services: ["sink"] })).path,
      );
      const before = await w.scrape();
      // 200 datagrams: the client's queue and the relay's (256, 1,024) hold them all. The connector,
      // frozen after the first, finds the other 199 waiting at once when it thaws: its queue toward
      // the backend (1) cannot take them as fast as they come.
      const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      const target: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
      await socket.send(new Uint8Array(100), target); // opens the flow
      await eventually(
        "the flow to open",
        async () =>
          (await w.scrape()).since(before, "ztna_relayed_datagrams_total") === 1 ? true : undefined,
      );
      const thaw = await freeze(connector);
      const during = w.honestServed();
      try {
        for (let i = 1; i < 200; i++) await socket.send(new Uint8Array(100).fill(i), target);
        await sleep(300);
      } finally {
        thaw();
        socket.close();
      }
      await during;
      const after = await eventually("the relay to relay all 200", async () => {
        const s = await w.scrape();
        return s.since(before, "ztna_relayed_datagrams_total") === 200 ? s : undefined;
      });
      assert.deepEqual(after.movedSince(before, "ztna_datagram_drops_total"), {});
      await connector.stop();
      await sleep(200); // the sink reads the last of what reached it
      // Every datagram the connector sent reached the sink's socket: read, or dropped there by the
      // kernel when the test process read slower than the connector sent (once 35 of 200 in CI).
      const delivered = sink.received + sink.kernelDrops;
      assert.ok(
        delivered > 0 && delivered < 200,
        `${sink.received} of 200 read by the backend, ${sink.kernelDrops} dropped at its socket`,
      );
      assert.deepEqual(loggedDrops(connector, /UDP drops at this connector/), {
        queue_full: 200 - delivered,
      });
      await flooder.stop();
      assert.doesNotMatch(flooder.output, /UDP drops at this client/);
    } finally {
      sink.close();
      await backend.shutdown();
    }
  },
);

Deno.test(
  "connector connect_timeout_ms: a backend that never answers the connect is refused backend_timeout",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("lim-connect");
    const backend = httpBackend("honest");
    // A listener that never accepts, its accept queue filled (Deno listens with a backlog of 511):
    // the kernel drops further SYNs, so a connect to it hangs.
    const stuck = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const fillers: Deno.TcpConn[] = [];
    try {
      for (let i = 0; i < 512; i++) {
        fillers.push(await Deno.connect({ hostname: "127.0.0.1", port: stuck.addr.port }));
      }
      const w = await limitedRelay(fx, backend.port, "");
      const connector = await fx.connector(
        [w.relayPort],
        { stuck: `127.0.0.1:${stuck.addr.port}` },
        (await fx.token("connector", { services: ["stuck"] })).path,
        { extra: "connect_timeout_ms = 500" },
      );
      const session = await rawSession(
        w.relayPort,
        w.caPem,
        (await fx.token("client", { services: ["stuck"] })).token,
      );
      const before = await w.scrape();
      const t0 = Date.now();
      const refused = open(session.conn, "stuck", "tcp");
      await w.honestServed(); // while the connector waits for the stuck backend
      assert.equal(await refused, "backend_timeout");
      const took = Date.now() - t0;
      // The connector's 500 ms, not the relay's flow_open_timeout_ms (10 s).
      assert.ok(took >= 400 && took < 4_000, `refused after ${took} ms`);
      await connector.waitFor(
        /Flow \d+ to "?stuck"? failed: "?backend_timeout"? \(backend of \\?"stuck\\?" did not answer in 500 ms/,
      );
      await w.relay.waitFor(/Flow \d+ to "?stuck"? failed at the connector: "?backend_timeout/);
      const after = await w.scrape();
      assert.deepEqual(after.movedSince(before, "ztna_flows_refused_total"), {
        backend_timeout: 1,
      });
      session.conn.close({ closeCode: 0, reason: "" });
    } finally {
      for (const c of fillers) c.close();
      stuck.close();
      await backend.shutdown();
    }
  },
);
