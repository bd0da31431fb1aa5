/**
 * Reconnect backoff resets only after an authenticated session (the MVP reset it when the QUIC
 * handshake completed, so a relay that refused every HELLO saw a peer retry at the minimum delay
 * forever): a client the relay keeps refusing at HELLO backs off more and more; once it got in and
 * then lost the session, it starts again from the first delay.
 * @module
 */
import assert from "node:assert/strict";
import { adminCall } from "../_helpers/admin_http.ts";
import { Fixture, freeTcpPort, freeUdpPort } from "../_helpers/cluster.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** (attempt, delay) of every "Reconnecting … in D ms (attempt N)" line so far. */
function reconnects(output: string): Array<{ attempt: number; delayMs: number }> {
  return [...output.matchAll(/Reconnecting to relay [^\n]* in (\d+) ms \(attempt (\d+)\)/g)]
    .map((m) => ({ attempt: Number(m[2]), delayMs: Number(m[1]) }));
}

Deno.test(
  "backoff grows while the relay refuses every HELLO, and restarts only after an authenticated session",
  opts,
  async () => {
    await using fx = await Fixture.create("backoff-reset");
    const relayPort = freeUdpPort();
    // One connection per identity: a second client of the same identity is refused at HELLO
    // (limit_exceeded, a code worth retrying) although its QUIC handshake succeeds every time.
    const { url, adminToken } = await fx.adminRelay(relayPort, {
      limits: "max_connections_per_identity = 1",
    });
    const client = (path: string, wait?: RegExp) =>
      fx.client([relayPort], { [`127.0.0.1:${freeTcpPort()}`]: "web" }, path, { wait });
    const first = await client((await fx.token("client", { subject: "alice" })).path);
    const second = await client(
      (await fx.token("client", { subject: "alice" })).path,
      /Relay [^\n]* refused this client: "?limit_exceeded/,
    );

    // Refused at HELLO four times in a row: the delay grew (reconnect_min_ms 200, max 2000).
    await second.waitFor(/\(attempt 4\)/, 15_000);
    const refused = reconnects(second.output);
    assert.deepEqual(refused.slice(0, 4).map((r) => r.attempt), [1, 2, 3, 4]);
    assert.ok(refused[0].delayMs <= 200, `attempt 1 waits at most 200 ms: ${refused[0].delayMs}`);
    assert.ok(refused[3].delayMs >= 800, `attempt 4 waits at least 800 ms: ${refused[3].delayMs}`);

    // The first client leaves; the second gets in, then an operator kicks it.
    await first.stop();
    await second.waitFor(/Connected to relay/, 15_000);
    const before = reconnects(second.output).length;
    const list = await adminCall(url, "/api/v1/connections", { token: adminToken });
    const connId = (list.json().items as Array<{ connId: string }>)[0]?.connId;
    assert.ok(connId, list.text);
    const kick = await adminCall(url, `/api/v1/connections/${connId}/kick`, {
      token: adminToken,
      method: "POST",
    });
    assert.equal(kick.status, 200, kick.text);
    await second.waitFor(/Lost relay [^\n]*kicked/);
    await second.waitFor(/Connected to relay[\s\S]*Connected to relay/, 15_000);
    // After an authenticated session the count starts again at the first attempt.
    const after = reconnects(second.output).slice(before);
    assert.equal(after[0]?.attempt, 1, JSON.stringify(after));
    assert.ok(after[0].delayMs <= 200, `back to the first delay: ${after[0].delayMs}`);
  },
);
