/**
 * Tests of case 7's check that a path went where it should: the relay's counters around a direct
 * measurement must stay put, around a relayed one they must carry the bytes.
 * @module
 */
import assert from "node:assert/strict";
import { RelayLedger } from "./direct.ts";

Deno.test("RelayLedger refuses a direct run the relay saw, and a relayed run it did not", () => {
  const ledger = new RelayLedger();
  const moved = 1_000_000;
  ledger.check("direct", "run", moved, { flows: 0, bytes: 0 });
  // A few stray bytes (the END frame of the previous relayed flow) are not a relayed run.
  ledger.check("direct", "run", moved, { flows: 0, bytes: 4 });
  assert.throws(() => ledger.check("direct", "run", moved, { flows: 1, bytes: 0 }), /flow/);
  assert.throws(() => ledger.check("direct", "run", moved, { flows: 0, bytes: moved }), /relayed/);
  ledger.check("relay", "run", moved, { flows: 3, bytes: moved + 100 });
  assert.throws(() => ledger.check("relay", "run", moved, { flows: 3, bytes: moved / 2 }), /of/);
  ledger.check("pipe", "run", moved, { flows: 0, bytes: 0 });
  assert.deepEqual(ledger.totals(), {
    directBytesMoved: 2 * moved,
    relayedBytesDuringDirect: 4,
    relayedFlowsDuringDirect: 0,
    relayBytesMoved: moved,
    relayedBytesDuringRelay: moved + 100,
  });
});
