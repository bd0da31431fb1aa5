/**
 * The relay's flow and datagram limits biting, each against real processes set to a small value:
 * flow_opens_per_second_per_identity with its burst, max_pending_opens_per_connection,
 * max_streams_per_connection and datagram_queue_depth. Every test drives a peer past the limit and
 * checks the refusal on the wire, the reason in the relay's log, the exact move of the labelled
 * counter in /metrics, and that an honest client on the same relay is still served.
 * @module
 */
import assert from "node:assert/strict";
import { closeFlowStream, type OpenedFlow, requestFlow } from "../../src/client/request_flow.ts";
import { decodeHeader } from "../../src/protocol/mod.ts";
import { ChunkReader } from "../../src/transport/chunk_reader.ts";
import { eventually } from "../_helpers/admin_http.ts";
import { Fixture, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { LIMIT_TEST, limitedRelay, sleep } from "../_helpers/limits.ts";
import { rawSession } from "../_helpers/raw_peer.ts";
import { udpSink } from "../_helpers/udp.ts";

/** Opens a TCP flow to "web" on a raw session; returns the open flow or the refusal code. */
async function open(conn: Deno.QuicConn): Promise<OpenedFlow | string> {
  const req = await requestFlow({ conn }, "web", "tcp", 10_000);
  return req.ok ? req.flow : req.code;
}

Deno.test(
  "flow_opens_per_second_per_identity: flows beyond the burst are refused with limit_exceeded",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("lim-flowrate");
    const backend = httpBackend("honest");
    try {
      const w = await limitedRelay(
        fx,
        backend.port,
        "flow_opens_per_second_per_identity = 1\nflow_open_burst_per_identity = 3",
      );
      const bursty = await rawSession(w.relayPort, w.caPem, (await fx.token("client")).token);
      const before = await w.scrape();
      const t0 = Date.now();
      const results: (OpenedFlow | string)[] = [];
      for (let i = 0; i < 8; i++) results.push(await open(bursty.conn));
      const elapsed = (Date.now() - t0) / 1_000;
      const opened = results.filter((r) => typeof r !== "string");
      const codes = results.filter((r) => typeof r === "string");
      assert.ok(
        opened.length >= 3 && opened.length <= 3 + Math.ceil(elapsed),
        `${opened.length} of 8 opened in ${elapsed} s`,
      );
      assert.deepEqual(new Set(codes), new Set(["limit_exceeded"]));
      // The honest client is another identity with its own bucket.
      await w.honestServed();
      await w.relay.waitFor(/Refused flow to "?web"?: "?limit_exceeded/);
      const after = await w.scrape();
      assert.deepEqual(after.movedSince(before, "ztna_rate_limited_total"), {
        flow_opens_per_identity: codes.length,
      });
      assert.deepEqual(after.movedSince(before, "ztna_flows_refused_total"), {
        limit_exceeded: codes.length,
      });
      assert.equal(
        after.since(before, "ztna_flows_opened_total", { service: "web" }),
        opened.length + 1, // and the honest client's
      );
      for (const f of opened) await closeFlowStream(f, "done");
      bursty.conn.close({ closeCode: 0, reason: "" });
    } finally {
      await backend.shutdown();
    }
  },
);

Deno.test(
  "max_pending_opens_per_connection: a stream beyond it gets REPLY limit_exceeded",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("lim-pending");
    const backend = httpBackend("honest");
    try {
      const w = await limitedRelay(fx, backend.port, "max_pending_opens_per_connection = 2");
      const slow = await rawSession(w.relayPort, w.caPem, (await fx.token("client")).token);
      // Two flows that sent only the first byte of their OPEN: both wait for the rest.
      const pending = [];
      for (let i = 0; i < 2; i++) {
        const stream = await slow.conn.createBidirectionalStream();
        const writer = stream.writable.getWriter();
        await writer.write(Uint8Array.of(0x10));
        pending.push({ stream, writer });
      }
      const before = await w.settle("ztna_flows_active", {}, 2);
      assert.equal(await open(slow.conn), "limit_exceeded");
      await w.relay.waitFor(
        /Refused 1 flow stream\(s\): "?limit_exceeded"? \("?max_pending_opens_per_connection = 2/,
      );
      const after = await w.scrape();
      assert.deepEqual(after.movedSince(before, "ztna_rate_limited_total"), {
        pending_opens_per_connection: 1,
      });
      assert.deepEqual(after.movedSince(before, "ztna_refused_streams_total"), {
        pending_opens: 1,
      });
      await w.honestServed();
      // Finishing one OPEN frees a place: that flow is answered, and a new one opens.
      await pending[0].writer.write(Uint8Array.of(3, ...new TextEncoder().encode("web")));
      const reply = await new ChunkReader(pending[0].stream.readable).readHeader((b) =>
        decodeHeader(b, "reply")
      );
      assert.equal(reply.code, "ok");
      const next = await open(slow.conn);
      assert.ok(typeof next !== "string", `a new flow opens: ${String(next)}`);
      slow.conn.close({ closeCode: 0, reason: "" });
    } finally {
      await backend.shutdown();
    }
  },
);

Deno.test(
  "max_streams_per_connection: the client's next flow waits for a free stream, and says so",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("lim-streams");
    const backend = httpBackend("honest");
    try {
      // Three streams: the control stream and two flows; one connection per identity, so our
      // client cannot open a second connection when its first has no free stream (issue 18).
      const w = await limitedRelay(
        fx,
        backend.port,
        "max_streams_per_connection = 3\nmax_connections_per_identity = 1",
      );
      const greedy = await rawSession(w.relayPort, w.caPem, (await fx.token("client")).token);
      const before = await w.scrape();
      const held = [await open(greedy.conn), await open(greedy.conn)];
      const flows = held.filter((f) => typeof f !== "string");
      assert.equal(flows.length, 2, `both flows open: ${held.join(",")}`);
      // On the wire: QUIC gave no credit for a fourth stream.
      await assert.rejects(
        greedy.conn.createBidirectionalStream(),
        /maximum number of concurrent outgoing bidirectional streams/,
      );
      await w.relay.waitFor(
        /Client uses all its streams \("?max_streams_per_connection = 3"?\): its next flows wait/,
      );
      const after = await w.scrape();
      assert.deepEqual(after.movedSince(before, "ztna_caps_reached_total"), {
        streams_per_connection: 1,
      });
      assert.equal(after.get("ztna_flows_active"), 2);
      await w.honestServed();
      // A flow that waits gets its stream once one ends.
      const waiting = open(greedy.conn);
      await sleep(300);
      await closeFlowStream(flows[0], "done");
      const third = await waiting;
      assert.ok(typeof third !== "string", `the waiting flow opens: ${String(third)}`);
      greedy.conn.close({ closeCode: 0, reason: "" });

      // Our own client: two local connections hold both streams, a third waits and is logged.
      const holds = [];
      for (let i = 0; i < 2; i++) {
        const tcp = await Deno.connect({ hostname: "127.0.0.1", port: w.local });
        await tcp.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert.ok(((await tcp.read(new Uint8Array(1_024))) ?? 0) > 0, "held flow answered");
        holds.push(tcp);
      }
      const http = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
      try {
        const third = fetch(`http://127.0.0.1:${w.local}/`, {
          client: http,
          signal: AbortSignal.timeout(15_000),
        }).then((r) => r.text());
        await w.client.waitFor(
          /The relay refused connection "?2"? of this client \(max_connections_per_identity\)/,
        );
        await w.client.waitFor(/Flow to "?web"? waits for a free stream/);
        holds[0].close();
        assert.match(await third, /^honest/);
      } finally {
        http.close();
        holds[1].close();
      }
    } finally {
      await backend.shutdown();
    }
  },
);

Deno.test(
  "datagram_queue_depth: datagrams beyond a full queue are dropped and counted as queue_full",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("lim-dgqueue");
    const backend = httpBackend("honest");
    const sink = udpSink();
    try {
      const w = await limitedRelay(fx, backend.port, "datagram_queue_depth = 1");
      await fx.connector(
        [w.relayPort],
        { sink: { backend: `127.0.0.1:${sink.port}`, protocol: "udp" } },
        (await fx.token("connector", { services: ["sink"] })).path,
      );
      const floodPort = freeUdpPort();
      const flooder = await fx.client(
        [w.relayPort],
        { [`127.0.0.1:${floodPort}`]: "sink@udp" },
        (await fx.token("client", { services: ["sink"] })).path,
      );
      const before = await w.scrape();
      // 200 datagrams at once: the client's own queue (256) holds them all, the relay's (1) not.
      const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
      const target: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: floodPort };
      const during = w.honestServed();
      try {
        for (let i = 0; i < 200; i++) await socket.send(new Uint8Array(100).fill(i), target);
      } finally {
        socket.close();
      }
      await during;
      // Every datagram the relay got was either relayed to the connector or dropped.
      const after = await eventually("all 200 datagrams accounted for at the relay", async () => {
        const s = await w.scrape();
        const seen = s.since(before, "ztna_relayed_datagrams_total", { direction: "relayed" }) +
          s.since(before, "ztna_datagram_drops_total", { reason: "queue_full" });
        return seen === 200 ? s : undefined;
      });
      const relayed = after.since(before, "ztna_relayed_datagrams_total");
      const dropped = after.since(before, "ztna_datagram_drops_total", { reason: "queue_full" });
      assert.ok(dropped > 0, `the relay dropped ${dropped} of 200`);
      assert.deepEqual(after.movedSince(before, "ztna_datagram_drops_total"), {
        queue_full: dropped,
      });
      await eventually(
        "the sink to get what was relayed",
        // What the kernel dropped at the sink's full socket buffer reached the backend's host too.
        () => Promise.resolve(sink.received + sink.kernelDrops === relayed ? true : undefined),
      );
      await w.relay.waitFor(
        /Dropped \d+ datagram\(s\) toward "?\w+"?: "?queue_full"? \("?datagram_queue_depth = 1/,
      );
      await w.honestServed();
      // The flooding client's queue dropped none of them: the drops are the relay's.
      await flooder.stop();
      assert.doesNotMatch(flooder.output, /UDP drops at this client/);
    } finally {
      sink.close();
      await backend.shutdown();
    }
  },
);
