/**
 * Typed flow errors as the client sees them: backend refused, backend timeout, relay overloaded,
 * no connector online.
 * @module
 */
import assert from "node:assert/strict";
import { processState } from "../_helpers/proc.ts";
import { tcpRequest } from "../_helpers/tcp.ts";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";

/** Waits until /proc says process `pid` is in `state` (e.g. "T", stopped). */
async function waitForState(pid: number, state: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if ((await processState(pid)) === state) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`process ${pid} never reached state ${state}`);
}

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("flow to a backend that refuses connections: backend_refused", opts, async () => {
  await using fx = await Fixture.create("refused");
  const relayPort = freeUdpPort();
  await fx.relay(relayPort);
  const closedPort = freeTcpPort(); // nothing listens here
  await fx.connector(
    [relayPort],
    { web: `127.0.0.1:${closedPort}` },
    (await fx.token("connector")).path,
  );
  const local = freeTcpPort();
  const client = await fx.client(
    [relayPort],
    { [`127.0.0.1:${local}`]: "web" },
    (await fx.token("client")).path,
  );
  await assert.rejects(fetch(`http://127.0.0.1:${local}/`));
  await client.waitFor(/Flow to "?web"? refused: "?backend_refused/);
});

Deno.test("flow whose connector does not answer in time: backend_timeout", opts, async () => {
  await using fx = await Fixture.create("timeout");
  const backend = httpBackend("backend");
  try {
    const { connector, client, local } = await fx.tunnel(backend.port, {
      relayLimits: "flow_open_timeout_ms = 1500",
    });
    connector.kill("SIGSTOP"); // frozen: the relay's FLOW gets no REPLY
    try {
      await waitForState(connector.pid, "T");
      // A raw request, so no HTTP client retries behind our back: the socket closes with no answer.
      const reply = await tcpRequest(local, new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
      assert.equal(reply.byteLength, 0);
      await client.waitFor(/Flow to "?web"? refused: "?backend_timeout/);
    } finally {
      connector.kill("SIGCONT");
    }
  } finally {
    await backend.shutdown();
  }
});

Deno.test("flow beyond the relay's max_flows: relay_overloaded", opts, async () => {
  await using fx = await Fixture.create("overloaded");
  const backend = httpBackend("backend");
  try {
    const { client, local } = await fx.tunnel(backend.port, { relayLimits: "max_flows = 1" });
    // Hold one flow open with a kept-alive connection, then ask for a second one.
    const first = await Deno.connect({ hostname: "127.0.0.1", port: local });
    await first.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const buf = new Uint8Array(1024);
    assert.ok((await first.read(buf)) ?? 0 > 0, "first flow answered");
    const second = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    try {
      await assert.rejects(fetch(`http://127.0.0.1:${local}/`, { client: second }));
      await client.waitFor(/Flow to "?web"? refused: "?relay_overloaded/);
    } finally {
      second.close();
      first.close();
    }
  } finally {
    await backend.shutdown();
  }
});

Deno.test("flow to a service whose only connector left: no_connector", opts, async () => {
  await using fx = await Fixture.create("noconn");
  const backend = httpBackend("backend");
  try {
    const { relay, connector, client, local } = await fx.tunnel(backend.port);
    await connector.stop();
    await relay.waitFor(/left the pool of "?web/);
    await assert.rejects(fetch(`http://127.0.0.1:${local}/`));
    await client.waitFor(/Flow to "?web"? refused: "?no_connector/);
  } finally {
    await backend.shutdown();
  }
});
