import assert from "node:assert/strict";
import { MemoryStore } from "../store/memory_store.ts";
import { AuditRetention, retentionCutoff } from "./audit_retention.ts";

const DAY = 24 * 60 * 60 * 1_000;
const NOW = Date.UTC(2026, 10, 24);

Deno.test("retentionCutoff is `days` before now", () => {
  assert.equal(retentionCutoff(NOW, 90), NOW - 90 * DAY);
});

Deno.test("AuditRetention deletes only entries past their retention and counts them", async () => {
  using store = new MemoryStore();
  for (const ageDays of [400, 366, 364, 1]) {
    await store.appendAudit({
      at: NOW - ageDays * DAY,
      actor: "admin:ops",
      action: "token.issue",
      target: `aged${ageDays}`,
      outcome: "ok",
    });
  }
  const counted: number[] = [];
  const retention = new AuditRetention(store, 365, (n) => counted.push(n), () => NOW);
  await retention.start();
  await retention.stop();
  assert.deepEqual(counted, [2]);
  const left = await store.listAudit({ limit: 10 });
  assert.deepEqual(left.items.map((e) => e.target), ["aged1", "aged364"]);
});

Deno.test("AuditRetention logs a failing store and does not throw", async () => {
  using store = new MemoryStore();
  store.close();
  const counted: number[] = [];
  const retention = new AuditRetention(store, 30, (n) => counted.push(n), () => NOW);
  await retention.pruneOnce();
  assert.deepEqual(counted, []);
});
