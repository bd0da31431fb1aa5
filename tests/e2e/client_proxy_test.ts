/**
 * The client's proxy front ends against real software: curl through the SOCKS5 endpoint
 * (`--socks5-hostname`, names resolved by the client) and through the HTTP CONNECT endpoint
 * (`--proxytunnel`), services named `id` or `id.ztna`; and the refusal codes on the wire (raw SOCKS5
 * and HTTP) with the client's log line saying why: not granted, unknown name, no connector.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { LIMIT_TEST } from "../_helpers/limits.ts";

async function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "10", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const td = new TextDecoder();
  return { code: r.code, out: td.decode(r.stdout), err: td.decode(r.stderr) };
}

async function readAtLeast(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(4_096);
  let at = 0;
  while (at < n) {
    const got = await conn.read(buf.subarray(at));
    if (got === null) break;
    at += got;
  }
  return buf.subarray(0, at);
}

/** One raw SOCKS5 CONNECT; returns the reply code (byte 1 of the reply). */
async function socksConnect(port: number, request: number[]): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(Uint8Array.of(5, 1, 0));
    assert.deepEqual([...await readAtLeast(conn, 2)], [5, 0]);
    await conn.write(Uint8Array.of(5, 1, 0, ...request));
    const reply = await readAtLeast(conn, 10);
    assert.equal(reply[0], 5);
    return reply[1];
  } finally {
    conn.close();
  }
}

function domain(name: string, port = 80): number[] {
  const b = new TextEncoder().encode(name);
  return [3, b.length, ...b, port >> 8, port & 0xff];
}

async function httpConnectStatus(port: number, target: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`),
    );
    const head = new TextDecoder().decode(await readAtLeast(conn, 12));
    return Number(head.split(" ")[1]);
  } finally {
    conn.close();
  }
}

Deno.test(
  "client proxy endpoints: curl by service name, refusals with their codes",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("client-proxy");
    const web = httpBackend("web");
    const db = httpBackend("db");
    try {
      const relayPort = freeUdpPort();
      await fx.relay(relayPort, "", "connector_wait_ms = 300");
      await fx.connector(
        [relayPort],
        { web: `127.0.0.1:${web.port}`, db: `127.0.0.1:${db.port}` },
        (await fx.token("connector", { services: ["web", "db"] })).path,
      );
      const socks = freeTcpPort();
      const http = freeTcpPort();
      const client = await fx.client(
        [relayPort],
        {},
        (await fx.token("client", { services: ["web", "gone"] })).path,
        {
          extra: `direct = false\nsocks = "127.0.0.1:${socks}"\nhttp_proxy = "127.0.0.1:${http}"`,
        },
      );
      await client.waitFor(/Token grants .*web → socks5:\/\/127\.0\.0\.1:\d+ as web\.ztna/);

      await t("curl --socks5-hostname reaches web by id.ztna and by id", async () => {
        for (const name of ["web.ztna", "web"]) {
          const r = await curl(["--socks5-hostname", `127.0.0.1:${socks}`, `http://${name}/a`]);
          assert.equal(r.code, 0, r.err);
          assert.equal(r.out, "web GET /a 0");
        }
      });
      await t("curl through the HTTP CONNECT endpoint reaches web", async () => {
        const r = await curl([
          "--proxytunnel",
          "-x",
          `http://127.0.0.1:${http}`,
          "--data",
          "12345",
          "http://web.ztna/b",
        ]);
        assert.equal(r.code, 0, r.err);
        assert.equal(r.out, "web POST /b 5");
      });
      await t("SOCKS5 refusals: not granted 0x02, unknown 0x04, no connector 0x04", async () => {
        assert.equal(await socksConnect(socks, domain("db.ztna")), 0x02);
        await client.waitFor(/Refused a socks request for db\.ztna: not_granted/);
        assert.equal(await socksConnect(socks, [4, ...new Array(15).fill(0), 1, 0, 80]), 0x04);
        await client.waitFor(/Refused a socks request for 0:0:0:0:0:0:0:1: unknown_service/);
        assert.equal(await socksConnect(socks, domain("gone.ztna")), 0x04);
        await client.waitFor(/Flow to gone refused: no_connector/);
        // BIND is not served: command not supported (UDP ASSOCIATE: client_socks_udp_test.ts).
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: socks });
        await conn.write(Uint8Array.of(5, 1, 0));
        await readAtLeast(conn, 2);
        await conn.write(Uint8Array.of(5, 2, 0, 1, 0, 0, 0, 0, 0, 0));
        assert.equal((await readAtLeast(conn, 10))[1], 0x07);
        conn.close();
      });
      await t(
        "HTTP CONNECT refusals: 403 not granted, 404 unknown, 503 no connector, 405 GET",
        async () => {
          assert.equal(await httpConnectStatus(http, "db.ztna:80"), 403);
          assert.equal(await httpConnectStatus(http, "[::1]:80"), 404);
          assert.equal(await httpConnectStatus(http, "gone:80"), 503);
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: http });
          await conn.write(new TextEncoder().encode("GET http://web/ HTTP/1.1\r\n\r\n"));
          assert.match(new TextDecoder().decode(await readAtLeast(conn, 12)), /^HTTP\/1.1 405/);
          conn.close();
          const r = await curl([
            "--proxytunnel",
            "-x",
            `http://127.0.0.1:${http}`,
            "http://db.ztna/",
          ]);
          assert.notEqual(r.code, 0);
          assert.match(r.err, /403/);
        },
      );
    } finally {
      await web.shutdown();
      await db.shutdown();
    }
  },
);

/** A named step without the test context (steps here share one set of processes). */
async function t(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    throw new Error(`${name}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
