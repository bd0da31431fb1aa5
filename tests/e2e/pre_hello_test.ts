/**
 * Nothing a peer sends before HELLO is processed (threat model, "anyone on the internet"): its
 * streams are refused and its datagrams dropped, each counted under `before_hello` in the relay's
 * /metrics, none reaches datagram forwarding, and the connection can still authenticate afterwards.
 * @module
 */
import assert from "node:assert/strict";
import { parsePrometheus, sampleValue } from "../../src/admin/mod.ts";
import { encodeFrame } from "../../src/protocol/mod.ts";
import { adminCall, eventually } from "../_helpers/admin_http.ts";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";
import { rawConnect, rawStream } from "../_helpers/raw_peer.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const EARLY_STREAMS = 3;
const EARLY_DATAGRAMS = 20;

Deno.test(
  "relay refuses streams and drops datagrams sent before HELLO, counting each as before_hello",
  opts,
  async () => {
    await using fx = await Fixture.create("pre-hello");
    const relayPort = freeUdpPort();
    const { url, adminToken } = await fx.adminRelay(relayPort);
    const samples = async () => {
      const parsed = parsePrometheus(
        (await adminCall(url, "/metrics", { token: adminToken })).text,
      );
      assert.ok(parsed.ok);
      return parsed.samples;
    };

    const conn = await rawConnect(relayPort, await Deno.readTextFile(fx.pki.caCertPath));
    const control = await rawStream(conn, Uint8Array.of(0, 0)); // half a frame header: no HELLO yet
    const early = [];
    for (let i = 0; i < EARLY_STREAMS; i++) {
      early.push(await rawStream(conn, Uint8Array.of(0x10, 3, 0x77, 0x65, 0x62))); // OPEN "web"
    }
    for (let i = 0; i < EARLY_DATAGRAMS; i++) {
      await conn.sendDatagram(Uint8Array.of(0, 0, 0, 1, 0x41)).catch(() => {}); // flow 1, "A"
    }
    for (const s of early) {
      const got = new Uint8Array(await new Response(s.stream.readable).arrayBuffer());
      assert.equal(got.byteLength, 0, "an early stream gets no answer, only its end");
    }

    // Datagrams may be lost on the way, so at least one and at most all of them; streams exactly.
    const counted = await eventually("the early traffic to be counted", async () => {
      const s = await samples();
      const datagrams = sampleValue(s, "ztna_datagram_drops_total", { reason: "before_hello" });
      const streams = sampleValue(s, "ztna_refused_streams_total", { reason: "before_hello" });
      return (datagrams ?? 0) > 0 && streams === EARLY_STREAMS ? s : undefined;
    });
    assert.ok(
      (sampleValue(counted, "ztna_datagram_drops_total", { reason: "before_hello" }) ?? 0) <=
        EARLY_DATAGRAMS,
    );
    const forwarded = counted.filter((x) =>
      x.name === "ztna_datagram_drops_total" && x.labels.reason !== "before_hello" && x.value > 0
    );
    assert.deepEqual(forwarded, [], "no early datagram reached forwarding");

    // The rest of the HELLO frame: the connection was not harmed by the early traffic.
    const token = (await fx.token("client")).token;
    const frame = encodeFrame(
      new TextEncoder().encode(
        JSON.stringify({ type: "hello", versions: [2], role: "client", token }),
      ),
    );
    await control.writer.write(frame.subarray(2));
    const first = await control.stream.readable.getReader().read();
    assert.ok(!first.done && new TextDecoder().decode(first.value).includes('"welcome"'));
    conn.close({ closeCode: 0, reason: "" });
  },
);
