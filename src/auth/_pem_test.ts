/**
 * Tests of the folder-private PEM armour helpers.
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodePemBlocks, encodePem } from "./_pem.ts";

Deno.test("encodePem() and decodePemBlocks() round-trip any bytes", () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (bytes) => {
    const pem = encodePem(bytes, "PUBLIC KEY");
    assert.ok(pem.split("\n").every((line) => line.length <= 64));
    assert.deepEqual(decodePemBlocks(pem), [{ label: "PUBLIC KEY", der: bytes }]);
  }));
});

Deno.test("decodePemBlocks() skips blocks with a broken body or mismatched labels", () => {
  const good = encodePem(new Uint8Array([1, 2, 3]), "PRIVATE KEY");
  const text = [
    "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----",
    "-----BEGIN PUBLIC KEY-----\nAQID\n-----END PRIVATE KEY-----",
    "-----BEGIN PUBLIC KEY-----\n\n-----END PUBLIC KEY-----",
    good,
  ].join("\n");
  assert.deepEqual(decodePemBlocks(text), [{
    label: "PRIVATE KEY",
    der: new Uint8Array([1, 2, 3]),
  }]);
});

Deno.test("decodePemBlocks() answers arbitrary text without throwing", () => {
  fc.assert(fc.property(fc.string({ maxLength: 500 }), (text) => {
    assert.ok(Array.isArray(decodePemBlocks(`-----BEGIN X-----\n${text}\n-----END X-----`)));
  }));
});
