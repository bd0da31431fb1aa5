/**
 * RefillPause: a failure schedules one refill after its pause, a second failure replaces the wait,
 * success resets the growth, clear cancels.
 * @module
 */
import assert from "node:assert/strict";
import { RefillPause } from "./refill_pause.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("RefillPause runs one refill after the first pause (125-250 ms)", async () => {
  const pause = new RefillPause();
  let refills = 0;
  const t0 = performance.now();
  pause.failed(() => refills++);
  assert.ok(pause.waiting);
  await sleep(100);
  assert.equal(refills, 0, "not before half the first pause");
  while (refills === 0 && performance.now() - t0 < 2_000) await sleep(10);
  assert.equal(refills, 1);
  assert.ok(!pause.waiting);
});

Deno.test("RefillPause: a failure during the wait replaces it; clear cancels", async () => {
  const pause = new RefillPause();
  let refills = 0;
  pause.failed(() => refills++);
  pause.failed(() => refills++); // second in a row: 250-500 ms, one refill only
  await sleep(700);
  assert.equal(refills, 1);
  pause.failed(() => refills++); // third: 500-1,000 ms
  pause.clear();
  assert.ok(!pause.waiting);
  await sleep(1_100);
  assert.equal(refills, 1, "cleared: no refill");
  pause.succeeded(); // back to the first pause
  pause.failed(() => refills++);
  await sleep(300);
  assert.equal(refills, 2);
});
