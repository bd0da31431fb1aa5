/**
 * The attacks the QUIC listener is tested against, run against the TLS-over-TCP listener: garbage
 * preamble, an oversized frame, a STREAM before HELLO, a STREAM with an unknown link key, slow-loris
 * (no preamble), a connection flood from one address; and revocation closing a TCP peer with
 * token_revoked. Each is closed with a code (a CLOSE frame) and moves its counter in /metrics.
 * @module
 */
import assert from "node:assert/strict";
import { parsePrometheus, sampleValue } from "../../src/admin/mod.ts";
import {
  codeFromWire,
  concatBytes,
  decodeClose,
  decodeHeader,
  decodeLinkFrame,
  encodePreamble,
  type ErrorCode,
} from "../../src/protocol/mod.ts";
import {
  ChunkReader,
  connByteStream,
  dialLink,
  dialTcpLink,
  helloRelay,
  LinkRefused,
  openTls,
  type TcpLinkOptions,
} from "../../src/transport/mod.ts";
import { adminCall, eventually } from "../_helpers/admin_http.ts";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function setup(limits = "") {
  const fx = await Fixture.create("tcp-hostile");
  const relayPort = freeUdpPort();
  const { url, adminToken } = await fx.adminRelay(relayPort, {
    limits: `hello_timeout_ms = 1000\ntcp_pending_per_source = 8\n${limits}`,
  });
  const tls: TcpLinkOptions = {
    address: { hostname: "127.0.0.1", port: relayPort },
    serverName: "localhost",
    caCerts: [await Deno.readTextFile(fx.pki.caCertPath)],
    keepAliveMs: 500,
    idleTimeoutMs: 5_000,
  };
  const metric = async (name: string, labels: Record<string, string>) => {
    const parsed = parsePrometheus((await adminCall(url, "/metrics", { token: adminToken })).text);
    assert.ok(parsed.ok);
    return sampleValue(parsed.samples, name, labels) ?? 0;
  };
  return { fx, tls, metric };
}

/** Reads until the relay's CLOSE frame (its code) or the end of the connection (null). */
async function closeCode(conn: Deno.TlsConn, timeoutMs = 5_000): Promise<ErrorCode | null> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  const until = Date.now() + timeoutMs;
  try {
    while (Date.now() < until) {
      let d = decodeLinkFrame(buf);
      while (d.kind === "frame") {
        if (d.type === "close") return codeFromWire(decodeClose(d.payload).closeCode) ?? null;
        buf = buf.subarray(d.used);
        d = decodeLinkFrame(buf);
      }
      const n = await conn.read(chunk);
      if (n === null) return null;
      const joined = new Uint8Array(buf.byteLength + n);
      joined.set(buf);
      joined.set(chunk.subarray(0, n), buf.byteLength);
      buf = joined;
    }
    return null;
  } catch {
    return null;
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

Deno.test(
  "tcp listener: garbage preamble and oversized frame are closed with their codes",
  opts,
  async () => {
    const { fx, tls, metric } = await setup("handshake_burst_per_source = 100");
    await using _fx = fx;
    const garbage = await openTls(tls);
    await garbage.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
    assert.equal(await closeCode(garbage), "protocol_error");
    await eventually(
      "bad_preamble counted",
      async () =>
        await metric("ztna_tcp_connections_total", { kind: "bad_preamble" }) === 1
          ? true
          : undefined,
    );

    const big = await openTls(tls);
    // One write, so the relay reads the oversized header with the preamble (a regression: the
    // link then closed inside its constructor and the relay crashed).
    await big.write(
      concatBytes(encodePreamble({ kind: "main" }), Uint8Array.of(0x01, 0xff, 0xff, 0xff)),
    ); // CONTROL of 16 MiB
    assert.equal(await closeCode(big), "frame_too_large");
    const again = await openTls(tls);
    await again.write(encodePreamble({ kind: "main" }));
    await again.write(Uint8Array.of(0x01, 0xff, 0xff, 0xff));
    assert.equal(await closeCode(again), "frame_too_large");
    await eventually(
      "frame_too_large counted",
      async () =>
        await metric("ztna_protocol_errors_total", { code: "frame_too_large" }) >= 1
          ? true
          : undefined,
    );
    // Random bytes after a MAIN preamble, in one write and in two: every one closed, the relay
    // still serves an honest peer.
    for (let i = 0; i < 20; i++) {
      const noise = crypto.getRandomValues(new Uint8Array(1 + (i * 37) % 200));
      const c = await openTls(tls);
      if (i % 2 === 0) await c.write(concatBytes(encodePreamble({ kind: "main" }), noise));
      else {
        await c.write(encodePreamble({ kind: "main" }));
        await c.write(noise);
      }
      await closeCode(c, 2_000);
    }
    const honest = await dialTcpLink(tls);
    await helloRelay(honest, "client", (await fx.token("client")).token);
    honest.close({ closeCode: 0, reason: "" });
  },
);

Deno.test(
  "tcp listener: STREAM before HELLO is refused, an unknown link key is closed",
  opts,
  async () => {
    const { fx, tls, metric } = await setup();
    await using _fx = fx;
    const main = await dialTcpLink(tls); // MAIN with its key, no HELLO
    const control = await main.createBidirectionalStream();
    await control.writable.getWriter().write(Uint8Array.of(0, 0)); // half a frame header: no HELLO
    const early = await main.createBidirectionalStream();
    const w = early.writable.getWriter();
    await w.write(Uint8Array.of(0x10, 3, 0x77, 0x65, 0x62));
    const got = new Uint8Array(await new Response(early.readable).arrayBuffer());
    assert.equal(got.byteLength, 0, "an early stream gets no answer, only its end");
    await eventually(
      "before_hello counted",
      async () =>
        await metric("ztna_refused_streams_total", { reason: "before_hello" }) === 1
          ? true
          : undefined,
    );
    void control;
    main.close({ closeCode: 0, reason: "" });

    const stranger = await openTls(tls);
    await stranger.write(encodePreamble({ kind: "stream", key: new Uint8Array(16).fill(7) }));
    assert.equal(await closeCode(stranger), "unauthenticated");
    await eventually(
      "unknown_link_key counted",
      async () =>
        await metric("ztna_tcp_connections_total", { kind: "unknown_link_key" }) === 1
          ? true
          : undefined,
    );
  },
);

Deno.test("tcp listener: slow-loris and a flood from one address are cut", opts, async () => {
  const { fx, tls, metric } = await setup();
  await using _fx = fx;
  const silent = await openTls(tls); // TLS done, no preamble
  const started = Date.now();
  assert.equal(await closeCode(silent, 4_000), "hello_timeout");
  assert.ok(Date.now() - started < 3_000, "closed near hello_timeout_ms");
  await eventually(
    "preamble_timeout counted",
    async () =>
      await metric("ztna_tcp_connections_total", { kind: "preamble_timeout" }) === 1
        ? true
        : undefined,
  );

  // 30 raw TCP connections that never start TLS: past 8 pending, each is closed at once.
  const flood = await Promise.all(
    Array.from(
      { length: 30 },
      () => Deno.connect({ hostname: "127.0.0.1", port: tls.address.port }),
    ),
  );
  await eventually(
    "pending_per_source counted",
    async () =>
      await metric("ztna_tcp_connections_total", { kind: "pending_per_source" }) >= 20
        ? true
        : undefined,
  );
  for (const c of flood) c.close();
  // An honest link still authenticates once the flood's half-open connections are gone.
  const token = (await fx.token("client")).token;
  const link = await eventually("an honest link to authenticate", async () => {
    try {
      const l = await dialTcpLink({ ...tls, timeoutMs: 2_000 });
      const session = await helloRelay(l, "client", token);
      assert.equal(session.welcome.role, "client");
      return l;
    } catch {
      return undefined;
    }
  });
  link.close({ closeCode: 0, reason: "" });
});

Deno.test("tcp transport: revocation closes a TCP peer with token_revoked", opts, async () => {
  const { fx, tls } = await setup();
  await using _fx = fx;
  const tok = await fx.token("client");
  const link = await dialTcpLink(tls);
  await helloRelay(link, "client", tok.token);
  await Deno.writeTextFile(`${fx.dir}/revoked.txt`, `${tok.id}\n`);
  const info = await Promise.race([
    link.closed,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error("still open")), 5_000)),
  ]);
  assert.equal(codeFromWire(info.closeCode), "token_revoked");
});

Deno.test(
  "tcp listener: a STREAM past max_streams_per_connection gets REPLY limit_exceeded",
  opts,
  async () => {
    const { fx, tls, metric } = await setup("max_streams_per_connection = 3");
    await using _fx = fx;
    const link = await dialTcpLink(tls);
    await helloRelay(link, "client", (await fx.token("client")).token);
    const key = link.linkKey!;
    // A peer that ignores its credit (2 here): three silent streams fill the link's 3, the next
    // one is refused before its OPEN is read.
    const held: Deno.TlsConn[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await openTls(tls);
      await c.write(encodePreamble({ kind: "stream", key }));
      held.push(c);
    }
    await eventually(
      "three streams counted",
      async () =>
        await metric("ztna_tcp_connections_total", { kind: "stream" }) === 3 ? true : undefined,
    );
    const extra = await openTls(tls);
    await extra.write(encodePreamble({ kind: "stream", key }));
    const reader = new ChunkReader(connByteStream(extra).readable);
    const reply = await reader.readHeader((b) => decodeHeader(b, "reply"));
    assert.equal(reply.code, "limit_exceeded");
    await eventually(
      "limit_exceeded counted",
      async () =>
        await metric("ztna_refused_streams_total", { reason: "limit_exceeded" }) === 1
          ? true
          : undefined,
    );
    for (const c of held) {
      c.close();
    }
    link.close({ closeCode: 0, reason: "" });
  },
);

Deno.test(
  "tcp link: a flow opened long after the link's dial deadline still connects",
  opts,
  async () => {
    const { fx, tls, metric } = await setup();
    await using _fx = fx;
    // Regression: the MAIN dial's deadline once stayed on the link and failed every later STREAM.
    const link = await dialLink(
      { address: `127.0.0.1:${tls.address.port}`, server_name: "localhost" },
      {
        transport: "tcp",
        caCerts: tls.caCerts,
        keepAliveMs: 500,
        idleTimeoutMs: 5_000,
        timeoutMs: 300,
        signal: new AbortController().signal,
      },
    );
    await helloRelay(link, "client", (await fx.token("client")).token);
    await new Promise((r) => setTimeout(r, 800));
    const stream = await link.createBidirectionalStream();
    await stream.writable.getWriter().write(Uint8Array.of(0x10, 3, 0x77, 0x65, 0x62));
    await eventually(
      "the stream reached the relay",
      async () =>
        await metric("ztna_tcp_connections_total", { kind: "stream" }) === 1 ? true : undefined,
    );
    link.close({ closeCode: 0, reason: "" });
  },
);

Deno.test("tcp transport: token expiry closes a TCP peer with token_expired", opts, async () => {
  const { fx, tls } = await setup();
  await using _fx = fx;
  const link = await dialTcpLink(tls);
  await helloRelay(link, "client", (await fx.token("client", { ttlSeconds: 2 })).token);
  const info = await Promise.race([
    link.closed,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error("still open")), 6_000)),
  ]);
  assert.equal(codeFromWire(info.closeCode), "token_expired");
});

Deno.test(
  "tcp listener: links past the per-source handshake rate are refused at once",
  opts,
  async () => {
    const { fx, tls, metric } = await setup(
      "handshakes_per_second_per_source = 1\nhandshake_burst_per_source = 2",
    );
    await using _fx = fx;
    const links = [await dialTcpLink(tls), await dialTcpLink(tls)];
    const started = Date.now();
    const refused = await dialTcpLink(tls).then(() => undefined, (e: unknown) => e);
    assert.ok(refused instanceof LinkRefused, String(refused));
    assert.equal(codeFromWire(refused.closeCode), "limit_exceeded");
    assert.ok(Date.now() - started < 2_000, "refused at once, not at the dial deadline");
    assert.ok(await metric("ztna_rate_limited_total", { limit: "handshakes_per_source" }) >= 1);
    for (const l of links) l.close({ closeCode: 0, reason: "" });
  },
);
