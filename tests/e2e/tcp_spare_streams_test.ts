/**
 * A client over the TCP transport keeps spare STREAM connections dialed ahead (`tcp_spare_streams`),
 * so that a flow's REPLY does not wait behind a fresh connection's TLS session tickets: real relay,
 * connector and client processes; the relay's counters show the spares dialed, taken and replaced,
 * parked without a header deadline, and dropped without a refusal when the client leaves; a client
 * or connector the relay refuses dials neither spares nor offers.
 * @module
 */
import assert from "node:assert/strict";
import { parsePrometheus, sampleValue } from "../../src/admin/mod.ts";
import { metricSum } from "../_helpers/metrics.ts";
import { adminCall, eventually } from "../_helpers/admin_http.ts";
import { Fixture, freeTcpPort, freeUdpPort } from "../_helpers/cluster.ts";
import { echoAfterEofServer, tcpRequest } from "../_helpers/tcp.ts";
import { type ByteStream, dialTcpLink, helloRelay } from "../../src/transport/mod.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const TCP = `transport = "tcp"`;

Deno.test(
  "tcp client keeps two spare STREAM connections; flows take them, the relay refuses none",
  opts,
  async () => {
    await using fx = await Fixture.create("tcp-spares");
    const echo = echoAfterEofServer();
    try {
      const relayPort = freeUdpPort();
      // A short header deadline: a spare idle far past it must still be served.
      const { url, adminToken } = await fx.adminRelay(relayPort, {
        limits: "hello_timeout_ms = 500",
      });
      // One sample, or with no labels the sum over all of them.
      const metric = async (name: string, labels?: Record<string, string>) => {
        const text = (await adminCall(url, "/metrics", { token: adminToken })).text;
        if (labels === undefined) return metricSum(text, name);
        const parsed = parsePrometheus(text);
        assert.ok(parsed.ok);
        return sampleValue(parsed.samples, name, labels) ?? 0;
      };
      const clients = async () =>
        (JSON.parse((await adminCall(url, "/api/v1/connections", { token: adminToken })).text) as {
          items: { role: string }[];
        }).items.filter((c) => c.role === "client").length;
      await fx.connector(
        [relayPort],
        { echo: `127.0.0.1:${echo.port}` },
        (await fx.token("connector", { services: ["echo"] })).path,
        { extra: TCP },
      );
      const local = freeTcpPort();
      const client = await fx.client(
        [relayPort],
        { [`127.0.0.1:${local}`]: "echo" },
        (await fx.token("client", { services: ["echo"] })).path,
        { extra: TCP },
      );
      const streams = () => metric("ztna_tcp_connections_total", { kind: "stream" });
      await eventually("the client's two spares", async () => await streams() === 2 || undefined);
      // Idle for three header deadlines: parked spares are not flows that owe an OPEN.
      await new Promise((r) => setTimeout(r, 1_500));
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const got = await tcpRequest(local, new TextEncoder().encode(`ping ${i}`));
        times.push(Math.round(performance.now() - t0));
        assert.equal(new TextDecoder().decode(got), `echo:ping ${i}`);
        // Each flow took a spare, and the client dialed its replacement.
        await eventually(`spare ${i} replaced`, async () => await streams() === 3 + i || undefined);
      }
      console.log(`five sequential flows on spares, ms: ${times.join(", ")}`);
      assert.equal(await metric("ztna_flows_opened_total", { service: "echo" }), 5);
      assert.equal(await metric("ztna_refused_streams_total"), 0);
      assert.equal(await metric("ztna_protocol_errors_total"), 0);
      // The client leaves: its spares close unused, which is neither a flow nor a refusal.
      await client.stop();
      await eventually(
        "the client's link gone",
        async () => await clients() === 0 || undefined,
      );
      assert.equal(await metric("ztna_refused_streams_total"), 0);
      assert.equal(await metric("ztna_flows_opened_total", { service: "echo" }), 5);
      assert.equal(await metric("ztna_protocol_errors_total"), 0);
      // A client or connector the relay refuses dials no spares or offers: each attempt costs the
      // relay one TLS handshake, not three (client) or five (connector).
      for (const role of ["client", "connector"] as const) {
        const mains = await metric("ztna_tcp_connections_total", { kind: "main" });
        const all = await metric("ztna_tcp_connections_total");
        const foreign = (await fx.token(role, { services: ["echo"], foreignKey: true })).path;
        const refused = role === "client"
          ? await fx.client([relayPort], { [`127.0.0.1:${freeTcpPort()}`]: "echo" }, foreign, {
            extra: TCP,
            wait: null,
          })
          : await fx.connector([relayPort], { echo: `127.0.0.1:${echo.port}` }, foreign, {
            extra: TCP,
            wait: null,
          });
        await eventually(
          `two refused ${role} attempts`,
          async () =>
            await metric("ztna_tcp_connections_total", { kind: "main" }) >= mains + 2 || undefined,
        );
        await refused.stop();
        await new Promise((r) => setTimeout(r, 300)); // a late spare or offer is counted by now
        // Every TCP connection it made was a MAIN (one arriving after the refusal would count as
        // an unknown link key, one before it as a stream or offer).
        const attempts = await metric("ztna_tcp_connections_total", { kind: "main" }) - mains;
        assert.equal(await metric("ztna_tcp_connections_total") - all, attempts, role);
      }
      assert.equal(await streams(), 7, "no STREAM connection from a refused client");
    } finally {
      echo.close();
    }
  },
);

Deno.test(
  "tcp link at its stream credit: spares count against it, and a waiting flow takes a freed stream",
  opts,
  async () => {
    await using fx = await Fixture.create("tcp-spare-credit");
    const relayPort = freeUdpPort();
    // Three streams per connection: the control stream and a credit of two.
    await fx.adminRelay(relayPort, { limits: "max_streams_per_connection = 3" });
    const link = await dialTcpLink({
      address: { hostname: "127.0.0.1", port: relayPort },
      serverName: "localhost",
      caCerts: [await Deno.readTextFile(fx.pki.caCertPath)],
      keepAliveMs: 500,
      idleTimeoutMs: 5_000,
      spares: 2,
    });
    try {
      await helloRelay(link, "client", (await fx.token("client")).token);
      // Both credits go to spares; two streams take them, a third finds the credit used up.
      const first = await link.createBidirectionalStream({ waitUntilAvailable: true });
      const second = await link.createBidirectionalStream({ waitUntilAvailable: true });
      await assert.rejects(() => link.createBidirectionalStream(), RangeError);
      let third: ByteStream | undefined;
      const waiting = link.createBidirectionalStream({ waitUntilAvailable: true })
        .then((s) => third = s);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(third, undefined, "it waits while both streams are in use");
      // One ends: the waiting flow gets its stream.
      await first.writable.abort("done").catch(() => {});
      await first.readable.cancel("done").catch(() => {});
      await Promise.race([
        waiting,
        new Promise((_, reject) => setTimeout(() => reject(new Error("still waiting")), 5_000)),
      ]);
      assert.ok(third);
      void second;
    } finally {
      link.close({ closeCode: 0, reason: "" });
    }
  },
);
