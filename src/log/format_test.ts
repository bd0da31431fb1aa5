/**
 * Tests of the text and JSON line formats.
 * @module
 */
import assert from "node:assert/strict";
import type { LogRecord } from "@logtape/logtape";
import { formatJsonLine, formatTextLine, renderValue } from "./format.ts";

const TIME = Date.parse("2026-11-24T01:02:03.456Z");

function record(rawMessage: string, properties: Record<string, unknown>): LogRecord {
  const message: unknown[] = [];
  let last = 0;
  for (const m of rawMessage.matchAll(/\{(\w+)\}/g)) {
    message.push(rawMessage.slice(last, m.index), properties[m[1]]);
    last = m.index + m[0].length;
  }
  message.push(rawMessage.slice(last));
  return {
    category: ["ztna", "relay"],
    level: "info",
    message,
    rawMessage,
    timestamp: TIME,
    properties,
  };
}

Deno.test("formatTextLine() renders the message and appends unused properties", () => {
  const line = formatTextLine(
    record("Refused flow to {service}", { service: "db", code: "unauthorized" }),
  );
  assert.equal(
    line,
    '2026-11-24T01:02:03.456Z INFO  ztna.relay: Refused flow to db {"code":"unauthorized"}\n',
  );
});

Deno.test("formatTextLine() keeps a record on one line whatever the values hold", () => {
  const line = formatTextLine(
    record("Failed: {error} for {peer}", { error: new Error("a\nb"), peer: "x\r\ny" }),
  );
  assert.equal(line.indexOf("\n"), line.length - 1);
  assert.match(line, /Failed: Error: a\\nb for x\\r\\ny$/m);
});

Deno.test("formatJsonLine() writes timestamp, level, category, message and properties", () => {
  const line = formatJsonLine(record("Listening on {port}", { port: 4433 }));
  assert.equal(line.indexOf("\n"), line.length - 1);
  assert.deepEqual(JSON.parse(line), {
    timestamp: "2026-11-24T01:02:03.456Z",
    level: "info",
    category: "ztna.relay",
    message: "Listening on 4433",
    properties: { port: 4433 },
  });
});

Deno.test("renderValue() never dumps bytes and survives cycles and bigints", () => {
  assert.equal(renderValue({ key: new Uint8Array(32) }), '{"key":"<32 bytes>"}');
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  assert.equal(renderValue(cyclic), '{"a":1,"self":"[Circular]"}');
  assert.equal(renderValue(10n), "10");
  assert.equal(renderValue(undefined), "undefined");
});
