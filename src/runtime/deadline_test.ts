/**
 * Tests of deadline(): the value when in time, TIMED_OUT when late, the signal's reason when
 * aborted, and no timer left behind either way (the default op sanitizer checks that).
 * @module
 */
import assert from "node:assert/strict";
import { deadline, TIMED_OUT } from "./deadline.ts";

Deno.test("deadline() answers the value in time and clears its timer", async () => {
  assert.equal(await deadline(Promise.resolve(7), 10_000), 7);
  await assert.rejects(deadline(Promise.reject(new Error("boom")), 10_000), /boom/);
});

Deno.test("deadline() answers TIMED_OUT when the work is late", async () => {
  let release: (v: string) => void = () => {};
  const slow = new Promise<string>((r) => release = r);
  assert.equal(await deadline(slow, 10), TIMED_OUT);
  release("late");
});

Deno.test("deadline() rejects with the signal's reason, at once when already aborted", async () => {
  const controller = new AbortController();
  const pending = deadline(new Promise<never>(() => {}), 10_000, controller.signal);
  controller.abort(new Error("stopped"));
  await assert.rejects(pending, /stopped/);
  await assert.rejects(deadline(Promise.resolve(1), 10_000, controller.signal), /stopped/);
});
