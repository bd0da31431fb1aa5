/**
 * Unit tests of connectTcp/dialViaProxy against small proxies on loopback that answer as told:
 * a working tunnel, 407, 403, 502, silence, endless headers, a closed port.
 * @module
 */
import assert from "node:assert/strict";
import { connectTcp, dialViaProxy, ProxyError } from "./http_proxy.ts";
import { parseProxyUrl, type ProxyEndpoint } from "./http_proxy_choice.ts";

const SECRET = "pw-never-shown-7781";

/** A one-shot fake proxy: reads the request head, hands it to `answer`, which writes back. */
function fakeProxy(
  answer: (conn: Deno.TcpConn, head: string) => Promise<void>,
): { proxy: ProxyEndpoint; heads: string[]; close: () => void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const heads: string[] = [];
  (async () => {
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(4096);
        let head = "";
        while (!head.includes("\r\n\r\n")) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) return;
          head += new TextDecoder().decode(buf.subarray(0, n));
        }
        heads.push(head);
        await answer(conn, head).catch(() => {});
      })();
    }
  })().catch(() => {});
  const url = `http://127.0.0.1:${listener.addr.port}`;
  const parsed = parseProxyUrl(url);
  if (!parsed.ok) throw new Error(parsed.reason);
  return { proxy: parsed.value, heads, close: () => listener.close() };
}

const write = (conn: Deno.TcpConn, s: string) => conn.write(new TextEncoder().encode(s));
const target = { hostname: "relay.example.com", port: 443 };

async function failure(p: Promise<Deno.TcpConn>): Promise<ProxyError> {
  try {
    (await p).close();
  } catch (e) {
    assert.ok(e instanceof ProxyError, String(e));
    assert.ok(!e.message.includes(SECRET));
    return e;
  }
  assert.fail("expected a ProxyError");
}

Deno.test("dialViaProxy() returns a connection that carries the tunnel", async () => {
  // The "proxy" answers 200 and then echoes, as a tunnel to an echo server would.
  const fake = fakeProxy(async (conn) => {
    await write(conn, "HTTP/1.1 200 Connection established\r\n\r\n");
    await conn.readable.pipeTo(conn.writable);
  });
  try {
    const conn = await dialViaProxy(target, fake.proxy, {
      credentials: { user: "u", password: SECRET },
    });
    await write(conn, "ping");
    const buf = new Uint8Array(4);
    let got = 0;
    while (got < 4) got += (await conn.read(buf.subarray(got))) ?? 4;
    assert.equal(new TextDecoder().decode(buf), "ping");
    conn.close();
    assert.match(fake.heads[0], /^CONNECT relay\.example\.com:443 HTTP\/1\.1\r\n/);
    assert.match(fake.heads[0], /\r\nProxy-Authorization: Basic /);
  } finally {
    fake.close();
  }
});

Deno.test("dialViaProxy() names each refusal: 407, 403, 502", async (t) => {
  for (
    const [status, code, words] of [
      [407, "proxy_auth_required", /needs credentials/],
      [401, "proxy_auth_required", /needs credentials/],
      [403, "proxy_refused", /forbids this destination/],
      [502, "proxy_refused", /could not reach the relay/],
    ] as const
  ) {
    await t.step(`${status}`, async () => {
      const fake = fakeProxy((conn) => write(conn, `HTTP/1.1 ${status} Nope\r\n\r\n`).then());
      try {
        const e = await failure(
          dialViaProxy(target, fake.proxy, { credentials: { user: "u", password: SECRET } }),
        );
        assert.equal(e.code, code);
        assert.equal(e.status, status);
        assert.match(e.message, words);
        assert.match(e.message, /relay\.example\.com:443 through proxy http:\/\/127\.0\.0\.1:/);
      } finally {
        fake.close();
      }
    });
  }
});

Deno.test("dialViaProxy() gives up on a proxy that never answers, at its deadline", async () => {
  const fake = fakeProxy(() => new Promise(() => {}));
  try {
    const started = Date.now();
    const e = await failure(dialViaProxy(target, fake.proxy, { timeoutMs: 300 }));
    assert.equal(e.code, "proxy_timeout");
    assert.ok(Date.now() - started < 2_000);
  } finally {
    fake.close();
  }
});

Deno.test("dialViaProxy() stops reading a proxy that sends 1 MiB of headers", async () => {
  const fake = fakeProxy(async (conn) => {
    await write(conn, "HTTP/1.1 200 OK\r\n");
    const line = new TextEncoder().encode(`X-Junk: ${"j".repeat(1010)}\r\n`);
    for (let i = 0; i < 1024; i++) await conn.write(line);
  });
  try {
    const e = await failure(dialViaProxy(target, fake.proxy, { timeoutMs: 5_000 }));
    assert.equal(e.code, "proxy_protocol");
    assert.match(e.message, /exceeds 16384 bytes/);
    const small = await failure(
      dialViaProxy(target, fake.proxy, { timeoutMs: 5_000, maxAnswerBytes: 1024 }),
    );
    assert.match(small.message, /exceeds 1024 bytes/);
  } finally {
    fake.close();
  }
});

Deno.test("dialViaProxy() says the proxy is unreachable when nothing listens", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  const e = await failure(
    dialViaProxy(target, { hostname: "127.0.0.1", port, url: `http://127.0.0.1:${port}` }),
  );
  assert.equal(e.code, "proxy_unreachable");
  assert.match(e.message, /proxy is unreachable/);
});

Deno.test("dialViaProxy() refuses a proxy that talks before TLS does", async () => {
  const fake = fakeProxy((conn) => write(conn, "HTTP/1.0 200 OK\r\n\r\nhello").then());
  try {
    const e = await failure(dialViaProxy(target, fake.proxy));
    assert.equal(e.code, "proxy_protocol");
  } finally {
    fake.close();
  }
});

Deno.test("connectTcp() without a proxy connects directly", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const accepted = l.accept();
    const conn = await connectTcp({ hostname: "127.0.0.1", port: l.addr.port });
    (await accepted).close();
    conn.close();
  } finally {
    l.close();
  }
});
