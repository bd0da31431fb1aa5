import assert from "node:assert/strict";
import fc from "fast-check";
import { parseGreeting, parseRequest, parseUdpHeader, SOCKS_REPLY, socksReply } from "./socks5.ts";
import { connectResponse, MAX_CONNECT_HEAD, parseConnectHead } from "./http_connect.ts";
import { resolveServiceName } from "./service_name.ts";

const te = new TextEncoder();

Deno.test("parseGreeting() reads the offered methods and waits for missing bytes", () => {
  assert.deepEqual(parseGreeting(Uint8Array.of(5, 2, 0, 2)), {
    kind: "greeting",
    methods: [0, 2],
    used: 4,
  });
  assert.equal(parseGreeting(Uint8Array.of(5, 2, 0)).kind, "incomplete");
  assert.equal(parseGreeting(Uint8Array.of(4, 1, 0)).kind, "error");
  assert.equal(parseGreeting(Uint8Array.of(5, 0)).kind, "error");
});

Deno.test("parseRequest() reads CONNECT to a domain name, IPv4 and IPv6", () => {
  const name = te.encode("Web.ZTNA");
  assert.deepEqual(parseRequest(Uint8Array.of(5, 1, 0, 3, name.length, ...name, 0, 80)), {
    kind: "request",
    command: 1,
    host: "web.ztna",
    port: 80,
    used: 7 + name.length,
  });
  assert.deepEqual(parseRequest(Uint8Array.of(5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90)), {
    kind: "request",
    command: 1,
    host: "127.0.0.1",
    port: 8080,
    used: 10,
  });
  const v6 = parseRequest(Uint8Array.of(5, 1, 0, 4, ...new Array(15).fill(0), 1, 0, 22));
  assert.ok(v6.kind === "request" && v6.host === "0:0:0:0:0:0:0:1" && v6.port === 22);
  assert.deepEqual(parseRequest(Uint8Array.of(5, 1, 0, 9, 0)), {
    kind: "error",
    code: SOCKS_REPLY.address_type_not_supported,
    why: "address type 9",
  });
  assert.equal(parseRequest(Uint8Array.of(5, 1, 0, 3, 5, 1)).kind, "incomplete");
});

Deno.test("socksReply() golden bytes", () => {
  assert.deepEqual([...socksReply(SOCKS_REPLY.not_allowed)], [5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(
    [...socksReply(SOCKS_REPLY.succeeded, { ip: [127, 0, 0, 1], port: 5353 })],
    [5, 0, 0, 1, 127, 0, 0, 1, 0x14, 0xe9],
  );
});

Deno.test("SOCKS5 parsers answer every input without throwing, in every prefix", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    for (let n = 0; n <= bytes.length; n++) {
      const b = bytes.subarray(0, n);
      assert.ok(["greeting", "incomplete", "error"].includes(parseGreeting(b).kind));
      const r = parseRequest(b);
      assert.ok(["request", "incomplete", "error"].includes(r.kind));
      if (r.kind === "request") assert.ok(r.used <= n && r.port >= 0 && r.port <= 65_535);
    }
  }));
});

Deno.test("parseConnectHead() reads CONNECT host:port and refuses the rest with a status", () => {
  const head = te.encode("CONNECT Web.ztna:443 HTTP/1.1\r\nHost: web.ztna:443\r\n\r\nrest");
  assert.deepEqual(parseConnectHead(head), {
    kind: "connect",
    host: "web.ztna",
    port: 443,
    used: head.length - 4,
  });
  assert.equal(parseConnectHead(te.encode("CONNECT web:80 HTTP/1.1\r\n")).kind, "incomplete");
  const get = parseConnectHead(te.encode("GET http://web/ HTTP/1.1\r\n\r\n"));
  assert.ok(get.kind === "error" && get.status === 405);
  const noPort = parseConnectHead(te.encode("CONNECT web HTTP/1.1\r\n\r\n"));
  assert.ok(noPort.kind === "error" && noPort.status === 400);
  const v6 = parseConnectHead(te.encode("CONNECT [::1]:22 HTTP/1.1\r\n\r\n"));
  assert.ok(v6.kind === "connect" && v6.host === "::1" && v6.port === 22);
  const big = parseConnectHead(new Uint8Array(MAX_CONNECT_HEAD).fill(65));
  assert.ok(big.kind === "error" && big.status === 431);
});

Deno.test("parseConnectHead() answers every input without throwing", () => {
  const heads = fc.oneof(
    fc.uint8Array({ maxLength: 400 }),
    fc.string({ maxLength: 200 }).map((s) => te.encode(`CONNECT ${s} HTTP/1.1\r\n\r\n`)),
  );
  fc.assert(fc.property(heads, (bytes) => {
    const r = parseConnectHead(bytes);
    assert.ok(["connect", "incomplete", "error"].includes(r.kind));
    if (r.kind === "connect") assert.ok(r.port >= 1 && r.port <= 65_535 && r.used <= bytes.length);
  }));
});

Deno.test("connectResponse() golden bytes", () => {
  assert.equal(
    new TextDecoder().decode(connectResponse(200)),
    "HTTP/1.1 200 Connection Established\r\n\r\n",
  );
  assert.match(new TextDecoder().decode(connectResponse(403, "not granted")), /^HTTP\/1.1 403 /);
});

Deno.test("resolveServiceName() takes id and id.<suffix>, refuses unknown and ungranted", () => {
  assert.deepEqual(resolveServiceName("web", "ztna", ["web"]), { ok: true, service: "web" });
  assert.deepEqual(resolveServiceName("web.ztna", "ztna", ["web"]), { ok: true, service: "web" });
  assert.deepEqual(resolveServiceName("web.ztna.", "ztna", ["*"]), { ok: true, service: "web" });
  const ungranted = resolveServiceName("db.ztna", "ztna", ["web"]);
  assert.ok(!ungranted.ok && ungranted.code === "not_granted");
  const unknown = resolveServiceName("10.0.0.1:80", "ztna", ["*"]);
  assert.ok(!unknown.ok && unknown.code === "unknown_service");
  const empty = resolveServiceName("", "ztna", ["*"]);
  assert.ok(!empty.ok && empty.code === "unknown_service");
});

Deno.test("parseUdpHeader() splits a SOCKS5 UDP datagram into header, target and data", () => {
  const name = [...te.encode("dns.ztna")];
  const bytes = Uint8Array.of(0, 0, 0, 3, name.length, ...name, 0, 53, 0xaa, 0xbb);
  const r = parseUdpHeader(bytes);
  assert.equal(r.kind, "datagram");
  if (r.kind !== "datagram") return;
  assert.equal(r.frag, 0);
  assert.equal(r.host, "dns.ztna");
  assert.equal(r.port, 53);
  assert.deepEqual([...r.header], [...bytes.subarray(0, bytes.length - 2)]);
  assert.deepEqual([...r.data], [0xaa, 0xbb]);
  assert.equal(parseUdpHeader(Uint8Array.of(0, 0, 1, 1, 127, 0, 0, 1, 0, 7)).kind, "datagram");
  assert.equal(parseUdpHeader(Uint8Array.of(0, 1, 0, 1, 127, 0, 0, 1, 0, 7)).kind, "error");
  assert.equal(parseUdpHeader(Uint8Array.of(0, 0, 0, 3, 9, 1)).kind, "error");
  assert.equal(parseUdpHeader(Uint8Array.of(0, 0)).kind, "error");
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
    parseUdpHeader(b);
  }));
});
