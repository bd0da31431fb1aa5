/**
 * Renewal time arithmetic: a third of the lifetime before expiry, jitter only ever earlier and at
 * most a tenth of the window, bad input rejected.
 * @module
 */
import assert from "node:assert/strict";
import { renewalTime } from "./renewal_schedule.ts";

const DAY = 86_400_000;
const LETS_ENCRYPT = { notBeforeMs: 0, notAfterMs: 90 * DAY };

Deno.test("renewalTime() renews 90-day certificates 30 days before expiry without jitter", () => {
  assert.equal(renewalTime(LETS_ENCRYPT, { fraction: 1 / 3, random: () => 0 }), 60 * DAY);
});

Deno.test("renewalTime() jitters earlier by up to a tenth of the window", () => {
  const earliest = renewalTime(LETS_ENCRYPT, { fraction: 1 / 3, random: () => 0.999999 });
  assert.ok(earliest < 60 * DAY && earliest >= 57 * DAY, String(earliest / DAY));
  for (let i = 0; i < 1_000; i++) {
    const at = renewalTime(LETS_ENCRYPT, { fraction: 1 / 3 });
    assert.ok(at >= 57 * DAY && at <= 60 * DAY);
  }
});

Deno.test("renewalTime() follows the fraction", () => {
  const validity = { notBeforeMs: 1_000, notAfterMs: 21_000 };
  assert.equal(renewalTime(validity, { fraction: 0.5, random: () => 0 }), 11_000);
  assert.equal(renewalTime(validity, { fraction: 0.9, random: () => 0 }), 3_000);
});

Deno.test("renewalTime() rejects a fraction outside (0, 1) and an empty lifetime", () => {
  for (const fraction of [0, 1, -0.5, 2, Number.NaN]) {
    assert.throws(() => renewalTime(LETS_ENCRYPT, { fraction }), RangeError);
  }
  assert.throws(
    () => renewalTime({ notBeforeMs: 5, notAfterMs: 5 }, { fraction: 0.5 }),
    RangeError,
  );
});
