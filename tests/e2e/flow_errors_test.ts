/**
 * Typed flow errors as the client sees them: backend refused, backend timeout, relay overloaded,
 * no connector online. The two that are relay limits (flow_open_timeout_ms, max_flows) also check
 * the relay's log line, the exact move of ztna_flows_refused_total, and the next flow served.
 * @module
 */
import assert from "node:assert/strict";
import { processState } from "../_helpers/proc.ts";
import { tcpRequest } from "../_helpers/tcp.ts";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { limitedRelay } from "../_helpers/limits.ts";

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
  const backend = httpBackend("honest");
  try {
    const w = await limitedRelay(fx, backend.port, "flow_open_timeout_ms = 1500");
    const before = await w.scrape();
    w.connector.kill("SIGSTOP"); // frozen: the relay's FLOW gets no REPLY
    try {
      await waitForState(w.connector.pid, "T");
      // A raw request, so no HTTP client retries behind our back: the socket closes with no answer.
      const t0 = Date.now();
      const reply = await tcpRequest(w.local, new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
      assert.equal(reply.byteLength, 0);
      const took = Date.now() - t0;
      assert.ok(took >= 1_400 && took < 5_000, `refused after ${took} ms`);
      await w.client.waitFor(/Flow to "?web"? refused: "?backend_timeout/);
      await w.relay.waitFor(/Flow \d+ to "?web"? failed: "?backend_timeout/);
      const after = await w.scrape();
      assert.deepEqual(after.movedSince(before, "ztna_flows_refused_total"), {
        backend_timeout: 1,
      });
    } finally {
      w.connector.kill("SIGCONT");
    }
    await w.honestServed(); // the thawed connector serves the next flow
  } finally {
    await backend.shutdown();
  }
});

Deno.test("flow beyond the relay's max_flows: relay_overloaded", opts, async () => {
  await using fx = await Fixture.create("overloaded");
  const backend = httpBackend("honest");
  try {
    const w = await limitedRelay(fx, backend.port, "max_flows = 1");
    const before = await w.scrape();
    // Hold one flow open with a kept-alive connection, then ask for a second one.
    const first = await Deno.connect({ hostname: "127.0.0.1", port: w.local });
    try {
      await first.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      assert.ok(((await first.read(new Uint8Array(1024))) ?? 0) > 0, "first flow answered");
      // A raw request, so no HTTP client retries behind our back: the socket closes with no answer.
      const reply = await tcpRequest(w.local, new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
      assert.equal(reply.byteLength, 0);
      await w.client.waitFor(/Flow to "?web"? refused: "?relay_overloaded/);
      await w.relay.waitFor(/Refused flow to "?web"?: "?relay_overloaded/);
      const after = await w.scrape();
      assert.deepEqual(after.movedSince(before, "ztna_flows_refused_total"), {
        relay_overloaded: 1,
      });
      assert.equal(after.get("ztna_flows_active"), 1);
    } finally {
      first.close();
    }
    // The slot the held flow freed serves the next one.
    await w.settle("ztna_flows_active", {}, 0);
    await w.honestServed();
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
