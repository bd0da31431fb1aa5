/**
 * The embedded {@link Store}: Deno KV (SQLite underneath) in one file under the relay's
 * `state_dir`. A write resolves once its transaction has committed, so it survives `kill -9`.
 *
 * Keys:
 * ```
 * ["cred", tokenId]                    → issuedAt (ms): finds the record below
 * ["cred_by_time", issuedAt, tokenId]  → CredentialRecord (listed newest first)
 * ["revoked", tokenId]                 → RevocationRecord
 * ["admin_token", id]                  → AdminTokenRecord
 * ["audit", id]                        → AuditEntry (ids sort by time)
 * ["relay", relayId]                   → RelayRecord (the fleet: this relay alone)
 * ```
 * Every value read back is parsed with its zod schema.
 * @module
 */
import { z } from "zod";
import {
  AdminTokenRecord,
  AuditEntry,
  auditIdFloor,
  checkPageLimit,
  CredentialRecord,
  type FleetSnapshot,
  type NewAuditEntry,
  newAuditId,
  type Page,
  type PageRequest,
  parseStored,
  type RelayHeartbeat,
  RelayRecord,
  RevocationRecord,
  type RevokeResult,
  type Store,
} from "./store.ts";

/** Audit entries deleted per atomic commit when pruning (Deno KV allows 1,000 mutations). */
const PRUNE_BATCH = 500;

/** File name of the store inside `state_dir`. */
export const KV_FILE_NAME = "ztna.kv";

/** Optimistic transactions retried this often before giving up (only concurrent writers race). */
const MAX_ATTEMPTS = 8;

const IssuedAt = z.number().int().min(0);

/**
 * Opens (creating when missing) the KV store at `path`; its folder must exist.
 * @throws {Deno.errors.NotCapable} outside the permission set's write folders
 */
export async function openKvStore(path: string): Promise<KvStore> {
  return new KvStore(await Deno.openKv(path));
}

/** The Deno KV store. */
export class KvStore implements Store {
  #closed = false;

  constructor(readonly kv: Deno.Kv) {}

  async putCredential(record: CredentialRecord): Promise<void> {
    const parsed = CredentialRecord.parse(record);
    const pointer = ["cred", parsed.tokenId];
    const result = await this.kv.atomic()
      .check({ key: pointer, versionstamp: null })
      .set(pointer, parsed.issuedAt)
      .set(["cred_by_time", parsed.issuedAt, parsed.tokenId], parsed)
      .commit();
    if (!result.ok) {
      throw new Deno.errors.AlreadyExists(`Cannot store credential ${parsed.tokenId}: it exists`);
    }
  }

  async getCredential(tokenId: string): Promise<CredentialRecord | undefined> {
    return (await this.#credentialEntry(tokenId))?.record;
  }

  async #credentialEntry(tokenId: string): Promise<
    | {
      pointer: Deno.KvEntry<unknown>;
      entry: Deno.KvEntry<unknown>;
      record: CredentialRecord;
    }
    | undefined
  > {
    const pointer = await this.kv.get(["cred", tokenId]);
    if (pointer.versionstamp === null) return undefined;
    const issuedAt = parseStored(IssuedAt, `cred/${tokenId}`, pointer.value);
    const entry = await this.kv.get(["cred_by_time", issuedAt, tokenId]);
    if (entry.versionstamp === null) return undefined;
    const record = parseStored(CredentialRecord, `cred_by_time/${tokenId}`, entry.value);
    return { pointer, entry, record };
  }

  listCredentials(page: PageRequest): Promise<Page<CredentialRecord>> {
    return this.#page(
      ["cred_by_time"],
      page,
      (key, value) => parseStored(CredentialRecord, key, value),
    );
  }

  async revoke(revocation: RevocationRecord): Promise<RevokeResult> {
    const parsed = RevocationRecord.parse(revocation);
    const revokedKey = ["revoked", parsed.tokenId];
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const earlier = await this.kv.get(revokedKey);
      const found = await this.#credentialEntry(parsed.tokenId);
      if (earlier.versionstamp !== null) {
        return {
          alreadyRevoked: true,
          revocation: parseStored(RevocationRecord, `revoked/${parsed.tokenId}`, earlier.value),
          ...(found === undefined ? {} : { credential: found.record }),
        };
      }
      const op = this.kv.atomic().check(earlier).set(revokedKey, parsed);
      let credential: CredentialRecord | undefined;
      if (found !== undefined) {
        credential = {
          ...found.record,
          revokedAt: parsed.revokedAt,
          ...(parsed.reason === undefined ? {} : { revokedReason: parsed.reason }),
        };
        op.check(found.pointer, found.entry).set(found.entry.key, credential);
      }
      if ((await op.commit()).ok) {
        return {
          alreadyRevoked: false,
          revocation: parsed,
          ...(credential === undefined ? {} : { credential }),
        };
      }
    }
    throw new Error(`Cannot revoke ${parsed.tokenId}: the store kept changing underneath`);
  }

  async listRevocations(): Promise<RevocationRecord[]> {
    const out: RevocationRecord[] = [];
    for await (const entry of this.kv.list({ prefix: ["revoked"] }, { batchSize: 500 })) {
      out.push(parseStored(RevocationRecord, String(entry.key[1]), entry.value));
    }
    return out;
  }

  /** Nothing to watch: the KV file belongs to one relay (its state_dir is claimed). */
  watchRevocations(): Promise<void> {
    return Promise.resolve();
  }

  async putAdminToken(record: AdminTokenRecord): Promise<void> {
    const parsed = AdminTokenRecord.parse(record);
    await this.kv.set(["admin_token", parsed.id], parsed);
  }

  async listAdminTokens(): Promise<AdminTokenRecord[]> {
    const out: AdminTokenRecord[] = [];
    for await (const entry of this.kv.list({ prefix: ["admin_token"] })) {
      out.push(parseStored(AdminTokenRecord, `admin_token/${String(entry.key[1])}`, entry.value));
    }
    return out;
  }

  async deleteAdminToken(id: string): Promise<boolean> {
    const key = ["admin_token", id];
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await this.kv.get(key);
      if (entry.versionstamp === null) return false;
      if ((await this.kv.atomic().check(entry).delete(key).commit()).ok) return true;
    }
    throw new Error(`Cannot delete admin token ${id}: the store kept changing underneath`);
  }

  async appendAudit(entry: NewAuditEntry): Promise<AuditEntry> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const full = AuditEntry.parse({ ...entry, id: newAuditId(entry.at) });
      const key = ["audit", full.id];
      // The id carries 32 random bits; the check only guards against a collision overwriting.
      const result = await this.kv.atomic().check({ key, versionstamp: null }).set(key, full)
        .commit();
      if (result.ok) return full;
    }
    throw new Error("Cannot append to the audit log: no free id");
  }

  listAudit(page: PageRequest): Promise<Page<AuditEntry>> {
    return this.#page(["audit"], page, (key, value) => parseStored(AuditEntry, key, value));
  }

  async pruneAudit(beforeMs: number): Promise<number> {
    let pruned = 0;
    // Oldest first, a bounded batch per commit: a long-unpruned log never makes one huge write.
    while (true) {
      const keys: Deno.KvKey[] = [];
      const iter = this.kv.list(
        { start: ["audit"], end: ["audit", auditIdFloor(beforeMs)] },
        { limit: PRUNE_BATCH },
      );
      for await (const entry of iter) keys.push(entry.key);
      if (keys.length === 0) return pruned;
      const op = this.kv.atomic();
      for (const key of keys) op.delete(key);
      await op.commit();
      pruned += keys.length;
    }
  }

  /** Newest first (keys sort by time), `limit` items, then peeks once to know if more exist. */
  async #page<T>(
    prefix: Deno.KvKey,
    page: PageRequest,
    parse: (key: string, value: unknown) => T,
  ): Promise<Page<T>> {
    checkPageLimit(page.limit);
    const iter = this.kv.list(
      { prefix },
      { reverse: true, batchSize: page.limit + 1, ...(page.cursor ? { cursor: page.cursor } : {}) },
    );
    const read = async () => {
      try {
        return await iter.next();
      } catch (error) {
        if (page.cursor === undefined) throw error;
        throw new RangeError("Cannot list as 'cursor' is not one this store gave out", {
          cause: error,
        });
      }
    };
    const items: T[] = [];
    while (items.length < page.limit) {
      const next = await read();
      if (next.done) return { items };
      items.push(parse(next.value.key.map(String).join("/"), next.value.value));
    }
    const cursor = iter.cursor;
    const more = await read();
    return more.done ? { items } : { items, next: cursor };
  }

  async heartbeatRelay(heartbeat: RelayHeartbeat): Promise<void> {
    const record = RelayRecord.parse({ ...heartbeat, heartbeatAt: Date.now() });
    await this.kv.set(["relay", record.relayId], record);
  }

  async listRelays(): Promise<FleetSnapshot> {
    const relays: RelayRecord[] = [];
    for await (const entry of this.kv.list({ prefix: ["relay"] })) {
      relays.push(parseStored(RelayRecord, `relay/${String(entry.key[1])}`, entry.value));
    }
    return { now: Date.now(), relays };
  }

  async removeRelay(relayId: string): Promise<boolean> {
    const key = ["relay", relayId];
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await this.kv.get(key);
      if (entry.versionstamp === null) return false;
      if ((await this.kv.atomic().check(entry).delete(key).commit()).ok) return true;
    }
    throw new Error(`Cannot remove relay ${relayId}: the store kept changing underneath`);
  }

  async pruneRelays(beforeMs: number): Promise<number> {
    let pruned = 0;
    for (const r of (await this.listRelays()).relays) {
      if (r.heartbeatAt < beforeMs && await this.removeRelay(r.relayId)) pruned++;
    }
    return pruned;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.kv.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
