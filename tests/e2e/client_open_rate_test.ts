/**
 * The relay's flow-open rate (`flow_opens_per_second_per_identity`, burst
 * `flow_open_burst_per_identity`) refuses a burst beyond its size with `limit_exceeded`; the client
 * retries those opens with backoff within `relay_wait_ms`, so a burst six times the relay's burst,
 * spread by the rate within that wait, all reaches the backend; the client says so once. UDP flows
 * (one per local source) are retried the same way, their first datagrams held meanwhile.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";
import { LIMIT_TEST } from "../_helpers/limits.ts";

const FLOWS = 300;
const UDP_SOURCES = 150;

Deno.test("client retries rate-limited flow opens within relay_wait_ms", LIMIT_TEST, async () => {
  await using fx = await Fixture.create("open-rate");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  void (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      void conn.readable.pipeTo(conn.writable).catch(() => {});
    }
  })().catch(() => {});
  const held: Deno.Conn[] = [];
  try {
    // 300 opens at once against a burst of 50 and 100/s: the last are admitted after ~2.5 s,
    // within the client's default relay_wait_ms (5 s).
    const { client, local } = await fx.tunnel(listener.addr.port, {
      relayLimits: "flow_opens_per_second_per_identity = 100\nflow_open_burst_per_identity = 50",
    });
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: FLOWS }, async (_, i) => {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: local });
        held.push(conn);
        const text = new TextEncoder().encode(`hello ${i}\n`);
        await conn.write(text);
        const got = new Uint8Array(text.byteLength);
        let at = 0;
        while (at < got.byteLength) {
          const n = await conn.read(got.subarray(at));
          if (n === null) return `flow ${i} closed after ${at} bytes`;
          at += n;
        }
        return new TextDecoder().decode(got) === `hello ${i}\n` ? "ok" : `flow ${i} garbled`;
      } catch (e) {
        return String(e);
      }
    }));
    const elapsed = performance.now() - t0;
    const failed = results.filter((r) => r !== "ok");
    assert.equal(
      failed.length,
      0,
      `${failed.length} failed, e.g. ${failed[0]}\n${client.output.slice(-2_000)}`,
    );
    // The relay's rate did apply: the burst could not all have passed at once.
    assert.ok(elapsed > 1_500, `${elapsed.toFixed(0)} ms`);
    const notices = client.output.match(/rate-limits this client's flow opens/g) ?? [];
    assert.equal(notices.length, 1, client.output.slice(-2_000));
    assert.doesNotMatch(client.output, /refused: limit_exceeded/);
  } finally {
    for (const c of [...held, ...conns]) {
      try {
        c.close();
      } catch { /* closed by its peer */ }
    }
    listener.close();
  }
});

Deno.test(
  "client retries rate-limited UDP flow opens within relay_wait_ms",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("open-rate-udp");
    const echo = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    void (async () => {
      for await (const [data, from] of echo) await echo.send(data, from);
    })().catch(() => {});
    const sources: Deno.DatagramConn[] = [];
    try {
      const relayPort = freeUdpPort();
      await fx.relay(
        relayPort,
        "",
        "flow_opens_per_second_per_identity = 100\nflow_open_burst_per_identity = 50",
      );
      await fx.connector(
        [relayPort],
        { echo: { backend: `127.0.0.1:${(echo.addr as Deno.NetAddr).port}`, protocol: "udp" } },
        (await fx.token("connector", { services: ["echo"] })).path,
      );
      const local = freeUdpPort();
      const client = await fx.client(
        [relayPort],
        { [`127.0.0.1:${local}`]: "echo@udp" },
        (await fx.token("client", { services: ["echo"] })).path,
        { extra: "direct = false" },
      );
      // 150 local sources at once, one flow each, against a burst of 50 at 100/s: ~1 s to admit all.
      const results = await Promise.all(Array.from({ length: UDP_SOURCES }, async (_, i) => {
        const s = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
        sources.push(s);
        const text = new TextEncoder().encode(`udp ${i}`);
        await s.send(text, { transport: "udp", hostname: "127.0.0.1", port: local });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const got = await Promise.race([
          s.receive().then(([d]) => new TextDecoder().decode(d)),
          new Promise<string>((r) => timer = setTimeout(() => r("no reply"), 8_000)),
        ]);
        clearTimeout(timer);
        return got === `udp ${i}` ? "ok" : `source ${i}: ${got}`;
      }));
      const failed = results.filter((r) => r !== "ok");
      assert.equal(
        failed.length,
        0,
        `${failed.length} failed, e.g. ${failed[0]}\n${client.output.slice(-2_000)}`,
      );
      assert.match(client.output, /rate-limits this client's flow opens/);
    } finally {
      for (const s of sources) s.close();
      echo.close();
    }
  },
);
