/**
 * The tunnel end to end: real relay, connector and client processes, real QUIC, real sockets.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import {
  downloadHash,
  echoAfterEofServer,
  expectedHash,
  hashingSinkServer,
  sourceServer,
  tcpRequest,
  uploadBlocks,
} from "../_helpers/tcp.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("tunnel carries HTTP from a client through the relay to the backend", opts, async () => {
  await using fx = await Fixture.create("http");
  const backend = httpBackend("backend-A");
  try {
    const { local } = await fx.tunnel(backend.port);
    const res = await fetch(`http://127.0.0.1:${local}/hello`, {
      method: "POST",
      body: "x".repeat(1000),
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "backend-A POST /hello 1000");
  } finally {
    await backend.shutdown();
  }
});

Deno.test("tunnel moves 256 MiB byte-exact in both directions", opts, async () => {
  const MIB = 256;
  await using fx = await Fixture.create("bulk");
  const sink = hashingSinkServer();
  const source = sourceServer(MIB);
  try {
    const relayPort = freeUdpPort();
    await fx.relay(relayPort);
    await fx.connector(
      [relayPort],
      { sink: `127.0.0.1:${sink.port}`, source: `127.0.0.1:${source.port}` },
      (await fx.token("connector", { services: ["sink", "source"] })).path,
    );
    const up = freeTcpPort();
    const down = freeTcpPort();
    await fx.client(
      [relayPort],
      { [`127.0.0.1:${up}`]: "sink", [`127.0.0.1:${down}`]: "source" },
      (await fx.token("client", { services: ["*"] })).path,
    );
    const want = expectedHash(MIB);
    assert.equal(await uploadBlocks(up, MIB), want, "upload digest at the backend");
    const got = await downloadHash(down);
    assert.equal(got.bytes, MIB * 1024 * 1024);
    assert.equal(got.hash, want, "download digest at the client");
  } finally {
    sink.close();
    source.close();
  }
});

Deno.test(
  "tunnel propagates half-close: a backend that reads to EOF before answering works",
  opts,
  async () => {
    await using fx = await Fixture.create("halfclose");
    const echo = echoAfterEofServer();
    try {
      const { local } = await fx.tunnel(echo.port, { service: "echo" });
      const reply = await tcpRequest(local, new TextEncoder().encode("ping"));
      assert.equal(new TextDecoder().decode(reply), "echo:ping");
    } finally {
      echo.close();
    }
  },
);

Deno.test("tunnel serves 200 concurrent connections through one client", opts, async () => {
  await using fx = await Fixture.create("concurrent");
  const echo = echoAfterEofServer();
  try {
    const { local } = await fx.tunnel(echo.port, { service: "echo" });
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const payload = new TextEncoder().encode(`request-${i}-`.repeat(500));
        const reply = await tcpRequest(local, payload);
        return new TextDecoder().decode(reply) === `echo:${new TextDecoder().decode(payload)}`;
      }),
    );
    assert.equal(results.filter(Boolean).length, 200);
  } finally {
    echo.close();
  }
});
