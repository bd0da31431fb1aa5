/**
 * `learn_relays` patterns: parsing, refusals and matching.
 * @module
 */
import assert from "node:assert/strict";
import { matchesNetPattern, parseNetPattern } from "./net_pattern.ts";

function pattern(text: string) {
  const p = parseNetPattern(text);
  assert.ok(p.ok, p.ok ? "" : p.reason);
  return p.value;
}

Deno.test("parseNetPattern() refuses what is not a host or an IPv4 prefix", () => {
  for (
    const bad of [
      "",
      "a b",
      "10.0.0.0/33",
      "10.0.0.1/8",
      "10.0.0.0/8:0",
      "10.0.0.0/8:x",
      "host:0",
      "*:443",
      "::1/128",
    ]
  ) {
    assert.equal(parseNetPattern(bad).ok, false, bad);
  }
});

Deno.test("matchesNetPattern() admits only addresses in the pattern", () => {
  const cases: Array<[string, string, boolean]> = [
    ["127.0.0.0/8", "127.0.0.2:4433", true],
    ["127.0.0.0/8", "128.0.0.1:4433", false],
    ["192.0.2.0/24:443", "192.0.2.9:443", true],
    ["192.0.2.0/24:443", "192.0.2.9:444", false],
    ["0.0.0.0/0", "198.51.100.1:1", true],
    ["relay2.example.com:443", "RELAY2.example.com:443", true],
    ["relay2.example.com:443", "relay3.example.com:443", false],
    ["relay2.example.com", "relay2.example.com:8443", true],
    ["192.0.2.0/24", "relay.example.com:443", false],
    ["192.0.2.0/24", "not an address", false],
  ];
  for (const [p, address, want] of cases) {
    assert.equal(matchesNetPattern(pattern(p), address), want, `${p} ${address}`);
  }
});
