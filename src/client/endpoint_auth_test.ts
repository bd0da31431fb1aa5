import assert from "node:assert/strict";
import { parseUserPass, userPassReply } from "./socks5.ts";
import { connectResponse, parseBasicAuth, parseConnectHead } from "./http_connect.ts";
import { credentialsMatch } from "./endpoint_auth.ts";

const enc = new TextEncoder();

function userPass(user: string, pass: string): Uint8Array {
  const u = enc.encode(user);
  const p = enc.encode(pass);
  return Uint8Array.of(1, u.length, ...u, p.length, ...p);
}

Deno.test("parseUserPass reads RFC 1929's request and says how much it used", () => {
  const bytes = userPass("alice", "s3cr:et");
  assert.deepEqual(parseUserPass(Uint8Array.of(...bytes, 5, 1)), {
    kind: "userpass",
    username: "alice",
    password: "s3cr:et",
    used: bytes.length,
  });
});

Deno.test("parseUserPass waits for every byte of a split request", () => {
  const bytes = userPass("bob", "pw");
  for (let n = 0; n < bytes.length; n++) {
    assert.deepEqual(parseUserPass(bytes.subarray(0, n)), { kind: "incomplete" }, `at ${n}`);
  }
});

Deno.test("parseUserPass refuses another version and empty fields", () => {
  assert.equal(parseUserPass(Uint8Array.of(5, 1, 0x61, 1, 0x62)).kind, "error");
  assert.equal(parseUserPass(Uint8Array.of(1, 0, 1, 0x62)).kind, "error");
  assert.equal(parseUserPass(Uint8Array.of(1, 1, 0x61, 0)).kind, "error");
});

Deno.test("userPassReply is VER=1 then 0 for success, non-zero for failure", () => {
  assert.deepEqual([...userPassReply(true)], [1, 0]);
  assert.deepEqual([...userPassReply(false)], [1, 1]);
});

Deno.test("parseConnectHead returns Proxy-Authorization and parseBasicAuth decodes it", () => {
  const head = parseConnectHead(
    enc.encode(
      "CONNECT web.ztna:80 HTTP/1.1\r\nHost: web.ztna:80\r\n" +
        `Proxy-Authorization: Basic ${btoa("alice:pa:ss")}\r\n\r\n`,
    ),
  );
  assert.equal(head.kind, "connect");
  if (head.kind !== "connect") return;
  assert.deepEqual(parseBasicAuth(head.proxyAuthorization ?? ""), {
    username: "alice",
    password: "pa:ss",
  });
  assert.equal(parseBasicAuth("Bearer abc"), undefined);
  assert.equal(parseBasicAuth("Basic !!!"), undefined);
  assert.equal(parseBasicAuth(`Basic ${btoa("no-colon")}`), undefined);
});

Deno.test("a 407 answer names the Basic scheme", () => {
  const text = new TextDecoder().decode(connectResponse(407, "credentials required"));
  assert.match(text, /^HTTP\/1\.1 407 Proxy Authentication Required\r\n/);
  assert.match(text, /\r\nProxy-Authenticate: Basic realm="ztna"\r\n/);
});

Deno.test("credentialsMatch compares user and password, not their concatenation", () => {
  const expected = { username: "ab", password: "c" };
  assert.ok(credentialsMatch(expected, { username: "ab", password: "c" }));
  assert.ok(!credentialsMatch(expected, { username: "a", password: "bc" }));
  assert.ok(!credentialsMatch(expected, { username: "ab", password: "d" }));
  assert.ok(!credentialsMatch(expected, { username: "ab", password: "" }));
});
