/**
 * Unit tests of the CONNECT exchange bytes: the request, credentials, and the answer reader's
 * limits and chunk handling.
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ConnectAnswerReader,
  encodeConnectRequest,
  MAX_PROXY_ANSWER_BYTES,
  parseProxyCredentials,
} from "./http_proxy_exchange.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("encodeConnectRequest() writes CONNECT with Host, and Basic credentials when given", () => {
  assert.equal(
    text(encodeConnectRequest({ hostname: "relay.example.com", port: 443 })),
    "CONNECT relay.example.com:443 HTTP/1.1\r\nHost: relay.example.com:443\r\n" +
      "User-Agent: ztna\r\n\r\n",
  );
  const withAuth = text(
    encodeConnectRequest({ hostname: "2001:db8::1", port: 4433 }, {
      user: "Aladdin",
      password: "open sesame",
    }),
  );
  assert.match(withAuth, /^CONNECT \[2001:db8::1\]:4433 HTTP\/1\.1\r\n/);
  assert.match(withAuth, /\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n$/);
});

Deno.test("parseProxyCredentials() splits at the first colon and never echoes the text", () => {
  assert.deepEqual(parseProxyCredentials("bob:pa:ss\n"), {
    ok: true,
    value: { user: "bob", password: "pa:ss" },
  });
  for (const bad of ["nocolon-secret", ":secret", "a:b\nc:d"]) {
    const r = parseProxyCredentials(bad);
    assert.ok(!r.ok && !r.reason.includes("secret"));
  }
});

Deno.test("ConnectAnswerReader reads a 200 in any chunk split and keeps the bytes after it", () => {
  const answer = bytes("HTTP/1.1 200 Connection established\r\nProxy-Agent: tinyproxy\r\n\r\nXY");
  for (let split = 0; split <= answer.length; split++) {
    const r = new ConnectAnswerReader();
    const first = r.push(answer.subarray(0, split));
    const state = first.kind === "incomplete" ? r.push(answer.subarray(split)) : first;
    assert.equal(state.kind, "answer", `split ${split}`);
    if (state.kind !== "answer") continue;
    assert.equal(state.answer.status, 200);
    assert.equal(state.answer.reason, "Connection established");
    assert.equal(state.answer.headers.get("proxy-agent"), "tinyproxy");
    // The answer is complete at the first push that holds the headers; "rest" is what it held.
    const head = answer.length - 2;
    assert.equal(text(state.answer.rest), split < head ? "XY" : "XY".slice(0, split - head));
  }
});

Deno.test("ConnectAnswerReader refuses an answer over its limit instead of waiting", () => {
  const r = new ConnectAnswerReader();
  const line = bytes(`X-Junk: ${"a".repeat(1000)}\r\n`);
  let state = r.push(bytes("HTTP/1.1 200 OK\r\n"));
  let pushed = 0;
  // 1 MiB of headers: the reader answers well before that.
  while (state.kind === "incomplete" && pushed < 1024 * 1024) {
    state = r.push(line);
    pushed += line.length;
  }
  assert.equal(state.kind, "error");
  assert.ok(state.kind === "error" && state.code === "answer_too_large");
  assert.ok(pushed <= MAX_PROXY_ANSWER_BYTES + line.length);
  // A smaller limit bites sooner.
  const small = new ConnectAnswerReader(64);
  assert.equal(small.push(bytes(`HTTP/1.1 200 OK\r\n${"b".repeat(80)}`)).kind, "error");
  assert.throws(() => new ConnectAnswerReader(0), RangeError);
});

Deno.test("ConnectAnswerReader calls a non-HTTP answer malformed", () => {
  for (
    const s of ["SSH-2.0-OpenSSH\r\n\r\n", "HTTP/2 200\r\n\r\n", "HTTP/1.1 200 OK\r\nbad\r\n\r\n"]
  ) {
    const state = new ConnectAnswerReader().push(bytes(s));
    assert.ok(state.kind === "error" && state.code === "malformed", s);
  }
});

Deno.test("ConnectAnswerReader answers every input without throwing", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 20_000 }), fc.nat(20_000), (input, cut) => {
    const r = new ConnectAnswerReader();
    const a = r.push(input.subarray(0, cut));
    const b = a.kind === "incomplete" ? r.push(input.subarray(cut)) : a;
    assert.ok(["incomplete", "answer", "error"].includes(b.kind));
  }));
});
