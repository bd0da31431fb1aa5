/**
 * Tests of the refusal ring.
 * @module
 */
import assert from "node:assert/strict";
import { RefusalLog } from "./refusal_log.ts";

Deno.test("RefusalLog keeps the newest events first and overwrites the oldest", () => {
  const log = new RefusalLog({ capacity: 3 });
  assert.deepEqual(log.recent(), []);
  for (let i = 1; i <= 5; i++) log.record({ at: i, code: "unauthorized", service: `s${i}` });
  assert.deepEqual(log.recent().map((e) => e.at), [5, 4, 3]);
  assert.deepEqual(log.recent(2).map((e) => e.service), ["s5", "s4"]);
  assert.equal(log.total, 5);
});

Deno.test("RefusalLog copies events so callers cannot change what was kept", () => {
  const log = new RefusalLog({ capacity: 2 });
  const event = { at: 1, code: "token_revoked" as const, identity: "alice" };
  log.record(event);
  event.identity = "mallory";
  log.recent()[0].identity = "eve";
  assert.equal(log.recent()[0].identity, "alice");
});

Deno.test("RefusalLog rejects a capacity out of range", () => {
  assert.throws(() => new RefusalLog({ capacity: 0 }), RangeError);
  assert.throws(() => new RefusalLog({ capacity: 1.5 }), RangeError);
});
