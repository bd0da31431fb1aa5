/**
 * The one test suite every {@link Store} implementation must pass (memory, Deno KV, and a shared
 * database later): `storeContract("KvStore", open)` registers the tests. Each test gets a fresh,
 * empty store from `open` and closes it.
 * @module
 */
import assert from "node:assert/strict";
import type { AuditEntry, CredentialRecord, RevocationRecord, Store } from "./store.ts";

/** Opens a fresh, empty store; `cleanup` runs after the test closed it. */
export type OpenStore = () => Promise<{ store: Store; cleanup?: () => Promise<void> }>;

const T0 = Date.UTC(2030, 0, 1);

/** A valid credential; `n` varies id, subject and issue time. */
export function sampleCredential(n: number, overrides: Partial<CredentialRecord> = {}) {
  return {
    tokenId: `tok${String(n).padStart(19, "0")}`,
    subject: `user-${n}`,
    role: "client" as const,
    services: ["web"],
    issuedAt: T0 + n * 1_000,
    expiresAt: T0 + n * 1_000 + 3_600_000,
    issuedBy: "admin:ops",
    ...overrides,
  } satisfies CredentialRecord;
}

function revocation(tokenId: string, overrides: Partial<RevocationRecord> = {}): RevocationRecord {
  return { tokenId, revokedAt: T0 + 99_000, revokedBy: "admin:ops", reason: "lost", ...overrides };
}

async function all<T>(
  list: (cursor?: string) => Promise<{ items: T[]; next?: string }>,
): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const page = await list(cursor);
    pages.push(page.items);
    cursor = page.next;
  } while (cursor !== undefined);
  return pages;
}

/** Registers one contract test: `body` gets a fresh store, closed after it. */
type ContractTest = (what: string, body: (store: Store) => Promise<void>) => void;

/** Credentials: stored, unique, schema-checked, listed newest first in pages. */
function credentialTests(test: ContractTest): void {
  test("stores a credential and reads it back equal", async (store) => {
    const record = sampleCredential(1, { services: ["web", "db"], role: "connector" });
    await store.putCredential(record);
    assert.deepEqual(await store.getCredential(record.tokenId), record);
    assert.equal(await store.getCredential("nosuchtoken000000000"), undefined);
  });

  test("refuses a second credential with the same token id", async (store) => {
    await store.putCredential(sampleCredential(1));
    await assert.rejects(() => store.putCredential(sampleCredential(1, { subject: "other" })));
    assert.equal((await store.getCredential(sampleCredential(1).tokenId))?.subject, "user-1");
  });

  test("refuses a record that breaks its schema", async (store) => {
    await assert.rejects(() => store.putCredential(sampleCredential(1, { subject: "" })));
    await assert.rejects(() => store.revoke(revocation("short")));
  });

  test("lists credentials newest first in pages that cover each one once", async (store) => {
    for (const n of [3, 1, 7, 5, 2, 6, 4]) await store.putCredential(sampleCredential(n));
    const pages = await all((cursor) =>
      store.listCredentials({ limit: 3, ...(cursor ? { cursor } : {}) })
    );
    assert.deepEqual(pages.map((p) => p.length), [3, 3, 1]);
    assert.deepEqual(
      pages.flat().map((c) => c.subject),
      [7, 6, 5, 4, 3, 2, 1].map((n) => `user-${n}`),
    );
    const exact = await store.listCredentials({ limit: 7 });
    assert.equal(exact.items.length, 7);
    assert.equal(exact.next, undefined, "a full last page has no next");
  });

  test("refuses a page size out of range and a cursor it never gave", async (store) => {
    await store.putCredential(sampleCredential(1));
    await assert.rejects(() => store.listCredentials({ limit: 0 }), RangeError);
    await assert.rejects(() => store.listAudit({ limit: 501 }), RangeError);
    await assert.rejects(() => store.listCredentials({ limit: 1, cursor: "bogus" }), RangeError);
  });
}

/** Revocations: of known and unknown token ids, idempotent. */
function revocationTests(test: ContractTest): void {
  test("revokes a known token: marks the credential and lists the revocation", async (store) => {
    const record = sampleCredential(1);
    await store.putCredential(record);
    const result = await store.revoke(revocation(record.tokenId));
    assert.equal(result.alreadyRevoked, false);
    assert.equal(result.credential?.revokedAt, T0 + 99_000);
    assert.equal(result.credential?.revokedReason, "lost");
    const stored = await store.getCredential(record.tokenId);
    assert.equal(stored?.revokedAt, T0 + 99_000);
    assert.deepEqual(
      (await store.listCredentials({ limit: 10 })).items.map((c) => c.revokedAt),
      [T0 + 99_000],
    );
    assert.deepEqual(await store.listRevocations(), [revocation(record.tokenId)]);
  });

  test("revokes a token id it never issued, and a second revoke changes nothing", async (store) => {
    const id = "foreignTokenId0000000A";
    const first = await store.revoke(revocation(id, { reason: undefined }));
    assert.equal(first.alreadyRevoked, false);
    assert.equal(first.credential, undefined);
    const second = await store.revoke(revocation(id, { revokedAt: T0 + 200_000, reason: "x" }));
    assert.equal(second.alreadyRevoked, true);
    assert.equal(second.revocation.revokedAt, T0 + 99_000, "the first revocation is kept");
    const listed = await store.listRevocations();
    assert.equal(listed.length, 1);
    assert.equal(listed[0].tokenId, id);
  });
}

/** Admin token hashes: kept and deleted by id. */
function adminTokenTests(test: ContractTest): void {
  test("keeps admin token hashes and deletes them by id", async (store) => {
    const record = {
      id: "0123456789ab",
      hash: `sha256:0123456789ab${"0".repeat(52)}`,
      label: "ops-laptop",
      createdAt: T0,
      createdBy: "admin:bootstrap",
    };
    await store.putAdminToken(record);
    assert.deepEqual(await store.listAdminTokens(), [record]);
    assert.equal(await store.deleteAdminToken(record.id), true);
    assert.equal(await store.deleteAdminToken(record.id), false);
    assert.deepEqual(await store.listAdminTokens(), []);
  });
}

/** The audit log: time-sorted ids, pages newest first, pruning in batches. */
function auditTests(test: ContractTest): void {
  test("appends audit entries with time-sorted ids and pages them newest first", async (store) => {
    const written: AuditEntry[] = [];
    for (let i = 0; i < 5; i++) {
      written.push(
        await store.appendAudit({
          at: T0 + i,
          actor: "admin:ops",
          action: i % 2 ? "token.revoke" : "token.issue",
          target: `t${i}`,
          outcome: "ok",
        }),
      );
    }
    assert.ok(written.every((e, i) => i === 0 || e.id > written[i - 1].id));
    const pages = await all((cursor) =>
      store.listAudit({ limit: 2, ...(cursor ? { cursor } : {}) })
    );
    assert.deepEqual(pages.flat().map((e) => e.target), ["t4", "t3", "t2", "t1", "t0"]);
    assert.deepEqual(pages.flat()[0], written[4]);
  });

  test("prunes audit entries older than a time, oldest batches included", async (store) => {
    // More than one KV prune batch (500) of old entries, then two young ones.
    for (let i = 0; i < 1_203; i++) {
      await store.appendAudit({
        at: T0 + i,
        actor: "admin:ops",
        action: "token.issue",
        target: `old${i}`,
        outcome: "ok",
      });
    }
    for (const at of [T0 + 5_000, T0 + 5_001]) {
      await store.appendAudit({
        at,
        actor: "admin:ops",
        action: "token.revoke",
        target: `young${at - T0}`,
        outcome: "ok",
      });
    }
    assert.equal(await store.pruneAudit(T0 + 1_000), 1_000); // exactly those before the cut
    assert.equal(await store.pruneAudit(T0 + 5_000), 203);
    assert.equal(await store.pruneAudit(T0 + 5_000), 0);
    const left = await store.listAudit({ limit: 10 });
    assert.deepEqual(left.items.map((e) => e.target), ["young5001", "young5000"]);
  });
}

/** The fleet's heartbeat rows. */
function fleetTests(test: ContractTest): void {
  test("keeps one heartbeat row per relay, stamped by the store's clock", async (store) => {
    const beat = (relayId: string, peers: number) => ({
      relayId,
      addresses: [{ address: "relay1.example.com:443" }],
      state: "up" as const,
      startedAt: T0,
      peers,
      flows: 0,
    });
    assert.deepEqual((await store.listRelays()).relays, []);
    await store.heartbeatRelay(beat("b-relay", 1));
    await store.heartbeatRelay(beat("a-relay", 2));
    await store.heartbeatRelay({ ...beat("a-relay", 3), state: "draining" });
    const first = await store.listRelays();
    assert.deepEqual(first.relays.map((r) => [r.relayId, r.peers, r.state]), [
      ["a-relay", 3, "draining"],
      ["b-relay", 1, "up"],
    ]);
    for (const r of first.relays) {
      assert.ok(r.heartbeatAt <= first.now && first.now - r.heartbeatAt < 60_000, String(r));
    }
    await assert.rejects(() => store.heartbeatRelay({ ...beat("A!", 1) }));
    assert.equal(await store.removeRelay("b-relay"), true);
    assert.equal(await store.removeRelay("b-relay"), false);
    assert.equal(await store.pruneRelays(first.now - 60_000), 0);
    assert.equal(await store.pruneRelays(first.now + 60_000), 1);
    assert.deepEqual((await store.listRelays()).relays, []);
  });
}

/** Registers the contract tests for one implementation. */
export function storeContract(name: string, open: OpenStore): void {
  const test = (what: string, body: (store: Store) => Promise<void>) =>
    Deno.test(`${name} ${what}`, async () => {
      const { store, cleanup } = await open();
      try {
        await body(store);
      } finally {
        store.close();
        await cleanup?.();
      }
    });

  credentialTests(test);
  revocationTests(test);
  adminTokenTests(test);
  auditTests(test);
  fleetTests(test);
  test("refuses to work once closed", async (store) => {
    store.close();
    store.close();
    await assert.rejects(() => store.getCredential("tok0000000000000000001"));
  });
}
