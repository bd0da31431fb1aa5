/**
 * The guessing limit of the client's proxy endpoints (issue #18), on loopback with real processes:
 * with `endpoint_auth_failures = 3`, three wrong passwords from 127.0.0.1 block that address, so
 * the next connection is refused even with the right password (HTTP CONNECT 429, SOCKS5 0xFF to
 * the greeting), while 127.0.0.2 still gets through; the client logs the block once and counts it
 * in `ztna_client_endpoint_auth_refused_total`; once `endpoint_auth_window_ms` has passed since the
 * last wrong password, the right one works again.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, httpBackend } from "../_helpers/cluster.ts";
import { metricSum } from "../_helpers/metrics.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const PASSWORD = "s3cret-Pw:9";
const WRONG = "wrong-Pw-7";
const WINDOW_MS = 1_500;

async function curl(args: string[]): Promise<{ code: number; body: string }> {
  const out = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "10", ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(15_000),
  }).output();
  return { code: out.code, body: new TextDecoder().decode(out.stdout) };
}

/** curl through the HTTP CONNECT endpoint as `user:pass`, from `source`: the CONNECT status. */
async function viaHttp(port: number, pass: string, source = "127.0.0.1"): Promise<string> {
  const out = await curl([
    "--interface",
    source,
    "-o",
    "/dev/null",
    "-w",
    "%{http_connect}",
    "--proxytunnel",
    "--proxy",
    `http://127.0.0.1:${port}`,
    "--proxy-user",
    `alice:${pass}`,
    "http://web.ztna/x",
  ]);
  return out.body;
}

/** curl through the SOCKS5 endpoint as `user:pass` from 127.0.0.1: exit code and body. */
function viaSocks(port: number, pass: string): Promise<{ code: number; body: string }> {
  return curl([
    "--socks5-hostname",
    `127.0.0.1:${port}`,
    "--proxy-user",
    `alice:${pass}`,
    "http://web.ztna/x",
  ]);
}

/** A raw SOCKS5 greeting offering username/password: the endpoint's answer. */
async function socksGreeting(port: number): Promise<number[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(Uint8Array.of(5, 1, 2));
    const buf = new Uint8Array(2);
    let at = 0;
    const deadline = setTimeout(() => conn.close(), 5_000);
    try {
      while (at < 2) {
        const n = await conn.read(buf.subarray(at));
        if (n === null) break;
        at += n;
      }
    } finally {
      clearTimeout(deadline);
    }
    return [...buf.subarray(0, at)];
  } finally {
    try {
      conn.close();
    } catch { /* closed at the deadline */ }
  }
}

async function refusedTotal(statusPort: number, endpoint: string, reason: string) {
  const text = await (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
  const line = new RegExp(
    `^ztna_client_endpoint_auth_refused_total\\{endpoint="${endpoint}",reason="${reason}"\\} (\\d+)$`,
    "m",
  ).exec(text);
  metricSum(text, "ztna_client_endpoint_auth_refused_total"); // throws on a malformed exposition
  return line ? Number(line[1]) : 0;
}

/** Waits until the window since `lastFailureAt` (performance.now()) has passed, with a margin. */
async function windowPassed(lastFailureAt: number): Promise<void> {
  const left = lastFailureAt + WINDOW_MS + 200 - performance.now();
  if (left > 0) await new Promise((r) => setTimeout(r, left));
}

Deno.test({
  name: "proxy endpoints block an address after endpoint_auth_failures wrong passwords",
  ...opts,
  fn: async () => {
    await using fx = await Fixture.create("proxy-auth-limit");
    const web = httpBackend("web-A");
    try {
      const { relayPort } = await fx.served(web.port);
      const credentials = `${fx.dir}/endpoint-credentials`;
      await Deno.writeTextFile(credentials, `alice:${PASSWORD}\n`, { mode: 0o600 });
      const [socksPort, httpPort, statusPort] = [freeTcpPort(), freeTcpPort(), freeTcpPort()];
      const client = await fx.client(
        [relayPort],
        {},
        (await fx.token("client", { services: ["web"] })).path,
        {
          extra: `direct = false\nsocks = "127.0.0.1:${socksPort}"\n` +
            `http_proxy = "127.0.0.1:${httpPort}"\nendpoint_credentials_file = "${credentials}"\n` +
            `endpoint_auth_failures = 3\nendpoint_auth_window_ms = ${WINDOW_MS}\n` +
            `status_listen = "127.0.0.1:${statusPort}"`,
        },
      );
      await client.waitFor(/HTTP CONNECT endpoint listening on/);
      await client.waitFor(/Status endpoint on/);
      assert.equal(await viaHttp(httpPort, PASSWORD), "200", "the right password works at first");

      // HTTP CONNECT: three wrong passwords, then the right one is refused before it is read.
      for (let i = 0; i < 3; i++) assert.equal(await viaHttp(httpPort, WRONG), "407");
      let lastFailureAt = performance.now();
      assert.equal(await viaHttp(httpPort, PASSWORD), "429", "blocked even with the right one");
      assert.deepEqual(await socksGreeting(socksPort), [5, 0xff], "on both endpoints");
      assert.equal(await viaHttp(httpPort, PASSWORD, "127.0.0.2"), "200", "another address: not");
      await client.waitFor(
        /Blocked "?127\.0\.0\.1"? at the proxy endpoints: 3 wrong credentials reach client\.endpoint_auth_failures \(3\)/,
      );
      assert.equal(await refusedTotal(statusPort, "http", "wrong_credentials"), 3);
      assert.equal(await refusedTotal(statusPort, "http", "blocked"), 1);
      assert.equal(await refusedTotal(statusPort, "socks", "blocked"), 1);
      await windowPassed(lastFailureAt);
      assert.equal(await viaHttp(httpPort, PASSWORD), "200", "the window passed: in again");

      // SOCKS5: the same with curl's RFC 1929 username/password.
      for (let i = 0; i < 3; i++) {
        assert.notEqual((await viaSocks(socksPort, WRONG)).code, 0);
      }
      lastFailureAt = performance.now();
      const blocked = await viaSocks(socksPort, PASSWORD);
      assert.notEqual(blocked.code, 0, "blocked even with the right one");
      assert.deepEqual(await socksGreeting(socksPort), [5, 0xff]);
      assert.equal(await refusedTotal(statusPort, "socks", "wrong_credentials"), 3);
      assert.equal(await refusedTotal(statusPort, "socks", "blocked"), 3);
      await windowPassed(lastFailureAt);
      assert.deepEqual(await viaSocks(socksPort, PASSWORD), { code: 0, body: "web-A GET /x 0" });

      const blocks = client.output.match(/Blocked "?127\.0\.0\.1"? at the proxy endpoints/g);
      assert.equal(blocks?.length, 2, "one line per block, none per refused connection");
      assert.ok(!client.output.includes(PASSWORD), "the password is in no log line");
      assert.ok(!client.output.includes(WRONG), "nor is a wrong one");
      assert.ok(!client.output.includes("alice"), "nor the user name");
    } finally {
      await web.shutdown();
    }
  },
});
