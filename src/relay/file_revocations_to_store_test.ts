/**
 * FileRevocationsToStore: each id of the file reaches the store once; a failed write is retried.
 * @module
 */
import assert from "node:assert/strict";
import { MemoryStore, type RevocationRecord } from "../store/mod.ts";
import { FileRevocationsToStore } from "./file_revocations_to_store.ts";

const A = "tokA000000000000000001";
const B = "tokB000000000000000002";

Deno.test("FileRevocationsToStore writes each new id once and retries a failed write", async () => {
  const store = new MemoryStore();
  const written: string[] = [];
  let failing = true;
  const flaky = {
    revoke: (r: RevocationRecord) => {
      written.push(r.tokenId);
      return failing ? Promise.reject(new Error("down")) : store.revoke(r);
    },
  };
  const publisher = new FileRevocationsToStore(flaky, { retryMs: 20 });
  try {
    publisher.publish(new Set([A]));
    await publisher.settled();
    assert.deepEqual(await store.listRevocations(), []);
    failing = false;
    await new Promise((r) => setTimeout(r, 60));
    await publisher.settled();
    publisher.publish(new Set([A, B]));
    await publisher.settled();
    const ids = (await store.listRevocations()).map((r) => r.tokenId).sort();
    assert.deepEqual(ids, [A, B]);
    // A was tried while failing, then once more; never again after it succeeded.
    assert.equal(written.filter((id) => id === B).length, 1);
    const aAfterSuccess = written.lastIndexOf(A);
    publisher.publish(new Set([A, B]));
    await publisher.settled();
    assert.equal(written.lastIndexOf(A), aAfterSuccess);
  } finally {
    publisher.stop();
  }
});
