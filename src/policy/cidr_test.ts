/**
 * Tests of CIDR parsing and matching for the source-network condition.
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { inNetwork, parseAddress, parseNetwork } from "./cidr.ts";

Deno.test("parseNetwork() reads v4 and v6 networks and single hosts", () => {
  for (const text of ["192.0.2.0/24", "0.0.0.0/0", "203.0.113.9", "2001:db8::/32", "::1", "::/0"]) {
    assert.equal(typeof parseNetwork(text), "object", text);
  }
});

Deno.test("parseNetwork() names the problem of a bad network", () => {
  assert.match(String(parseNetwork("192.0.2.1/24")), /no host bits/);
  assert.match(String(parseNetwork("192.0.2.0/33")), /prefix length from 0 to 32/);
  assert.match(String(parseNetwork("300.0.0.0/8")), /IPv4 or IPv6 network/);
  assert.match(String(parseNetwork("example.com/8")), /IPv4 or IPv6 network/);
});

Deno.test("inNetwork() matches inside and not outside, IPv4-mapped v6 as v4", () => {
  const net = parseNetwork("192.0.2.0/24");
  assert.ok(typeof net === "object");
  assert.ok(inNetwork(parseAddress("192.0.2.255")!, net));
  assert.ok(inNetwork(parseAddress("::ffff:192.0.2.1")!, net));
  assert.ok(!inNetwork(parseAddress("192.0.3.0")!, net));
  assert.ok(!inNetwork(parseAddress("2001:db8::1")!, net));
  const v6 = parseNetwork("2001:db8::/32");
  assert.ok(typeof v6 === "object");
  assert.ok(inNetwork(parseAddress("[2001:db8:ffff::1]")!, v6));
});

Deno.test("parseAddress() answers every string without throwing", () => {
  fc.assert(fc.property(fc.string(), (s) => {
    parseAddress(s);
    parseNetwork(s);
  }));
});

Deno.test("parseAddress() round-trips every IPv4 address", () => {
  fc.assert(fc.property(fc.ipV4(), (ip) => {
    const a = parseAddress(ip);
    assert.ok(a && a.family === 4);
    const net = parseNetwork(`${ip}/32`);
    assert.ok(typeof net === "object" && inNetwork(a, net));
  }));
});
