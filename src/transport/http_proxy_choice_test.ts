/**
 * Unit tests of proxy choice: URL checks, NO_PROXY matching, the environment under the config.
 * @module
 */
import assert from "node:assert/strict";
import { noProxyMatches, parseProxyUrl, proxyFor, proxyPlan } from "./http_proxy_choice.ts";
import { splitNoProxy } from "../config/proxy_settings.ts";

Deno.test("parseProxyUrl() reads http://host:port and defaults the port to 80", () => {
  assert.deepEqual(parseProxyUrl("http://proxy.example.com:3128"), {
    ok: true,
    value: { hostname: "proxy.example.com", port: 3128, url: "http://proxy.example.com:3128" },
  });
  assert.deepEqual(parseProxyUrl("http://192.0.2.7/"), {
    ok: true,
    value: { hostname: "192.0.2.7", port: 80, url: "http://192.0.2.7:80" },
  });
  const v6 = parseProxyUrl("http://[2001:db8::1]:8080");
  assert.ok(v6.ok && v6.value.hostname === "2001:db8::1" && v6.value.url.includes("[2001:db8::1]"));
});

Deno.test("parseProxyUrl() refuses credentials without repeating them", () => {
  for (const text of ["http://alice:s3cr3t-pw@proxy:3128", "http://alice@proxy:3128"]) {
    const r = parseProxyUrl(text);
    assert.ok(!r.ok);
    assert.match(r.reason, /proxy_credentials_file/);
    assert.ok(!r.reason.includes("s3cr3t-pw") && !r.reason.includes("alice"));
  }
});

Deno.test("parseProxyUrl() refuses other schemes, paths, queries and non-URLs", () => {
  for (
    const text of [
      "https://proxy:3128",
      "socks5://proxy:1080",
      "http://proxy:3128/x",
      "http://proxy:3128?a=1",
      "proxy:3128",
      "",
      "http://",
    ]
  ) {
    assert.equal(parseProxyUrl(text).ok, false, text);
  }
});

Deno.test("noProxyMatches() reads suffixes, *, ports, IPs and IPv6 as curl does", () => {
  const list = splitNoProxy(
    " .corp.example.com, example.org ,192.0.2.9, relay.example.net:443,[::1]",
  );
  assert.equal(noProxyMatches(list, "relay.corp.example.com", 443), true);
  assert.equal(noProxyMatches(list, "corp.example.com", 443), true);
  assert.equal(noProxyMatches(list, "xcorp.example.com", 443), false);
  assert.equal(noProxyMatches(list, "EXAMPLE.ORG", 1), true);
  assert.equal(noProxyMatches(list, "a.example.org.", 1), true);
  assert.equal(noProxyMatches(list, "192.0.2.9", 4433), true);
  assert.equal(noProxyMatches(list, "192.0.2.90", 4433), false);
  assert.equal(noProxyMatches(list, "relay.example.net", 443), true);
  assert.equal(noProxyMatches(list, "relay.example.net", 4433), false);
  assert.equal(noProxyMatches(list, "::1", 4433), true);
  assert.equal(noProxyMatches(["*"], "anything", 1), true);
  assert.equal(noProxyMatches([], "anything", 1), false);
  assert.equal(noProxyMatches(["10.0.0.0/8"], "10.1.2.3", 1), false);
});

Deno.test("proxyFor() skips hosts NO_PROXY exempts", () => {
  const settings = { proxy: "http://proxy:3128", noProxy: ["internal.example.com"] };
  assert.equal(proxyFor(settings, "relay.internal.example.com", 4433), undefined);
  assert.equal(proxyFor(settings, "relay.example.com", 4433)?.url, "http://proxy:3128");
  assert.equal(proxyFor({ noProxy: [] }, "relay.example.com", 4433), undefined);
});

Deno.test("proxyPlan() sends auto and tcp through the proxy as tcp, and leaves quic alone", () => {
  const settings = { proxy: "http://proxy:3128", no_proxy: ["near.example.com"] };
  const auto = proxyPlan(settings, "relay.example.com:443", "auto");
  assert.equal(auto.transport, "tcp");
  assert.equal(typeof auto.connectTcp, "function");
  assert.deepEqual(proxyPlan(settings, "relay.example.com:443", "quic"), { transport: "quic" });
  assert.deepEqual(proxyPlan(settings, "near.example.com:443", "auto"), { transport: "auto" });
  assert.deepEqual(proxyPlan({}, "relay.example.com:443", "tcp"), {
    transport: "tcp",
  });
});
