/**
 * A {@link Store} in memory: the reference implementation of the store contract, used by handler
 * unit tests. Nothing survives the process. Records are copied in and parsed on the way out, as a
 * real store would, so tests cannot pass by sharing objects.
 * @module
 */
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

/** Sorts newest first; equal times by id so the order is total. */
function newestFirst(a: { t: number; id: string }, b: { t: number; id: string }): number {
  return b.t - a.t || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** Pages a sorted list with an opaque cursor: the position key of the last item served. */
function pageOf<T>(
  sorted: readonly T[],
  key: (item: T) => string,
  page: PageRequest,
): Page<T> {
  checkPageLimit(page.limit);
  const at = page.cursor === undefined ? -1 : sorted.findIndex((x) => key(x) === page.cursor);
  if (page.cursor !== undefined && at < 0) {
    throw new RangeError("Cannot list as 'cursor' is not one this store gave out");
  }
  const start = at + 1;
  const items = sorted.slice(start, start + page.limit);
  const more = start + page.limit < sorted.length;
  return more && items.length > 0 ? { items, next: key(items[items.length - 1]) } : { items };
}

/** The in-memory store. */
export class MemoryStore implements Store {
  readonly #credentials = new Map<string, CredentialRecord>();
  readonly #revocations = new Map<string, RevocationRecord>();
  readonly #adminTokens = new Map<string, AdminTokenRecord>();
  readonly #relays = new Map<string, RelayRecord>();
  readonly #audit: AuditEntry[] = [];
  #closed = false;

  /** Runs one operation; every failure, a closed store included, is a rejected promise. */
  #run<T>(operation: () => T): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("Cannot use the store: it is closed"));
    }
    return Promise.try(operation);
  }

  putCredential(record: CredentialRecord): Promise<void> {
    return this.#run(() => {
      const parsed = parseStored(CredentialRecord, record.tokenId, structuredClone(record));
      if (this.#credentials.has(parsed.tokenId)) {
        throw new Deno.errors.AlreadyExists(`Cannot store credential ${parsed.tokenId}: it exists`);
      }
      this.#credentials.set(parsed.tokenId, parsed);
    });
  }

  getCredential(tokenId: string): Promise<CredentialRecord | undefined> {
    return this.#run(() => {
      const found = this.#credentials.get(tokenId);
      return found && parseStored(CredentialRecord, tokenId, structuredClone(found));
    });
  }

  listCredentials(page: PageRequest): Promise<Page<CredentialRecord>> {
    return this.#run(() => {
      const sorted = [...this.#credentials.values()].sort((a, b) =>
        newestFirst({ t: a.issuedAt, id: a.tokenId }, { t: b.issuedAt, id: b.tokenId })
      );
      const result = pageOf(sorted, (c) => c.tokenId, page);
      return { ...result, items: result.items.map((c) => structuredClone(c)) };
    });
  }

  revoke(revocation: RevocationRecord): Promise<RevokeResult> {
    return this.#run(() => {
      const parsed = parseStored(RevocationRecord, revocation.tokenId, structuredClone(revocation));
      const earlier = this.#revocations.get(parsed.tokenId);
      let credential = this.#credentials.get(parsed.tokenId);
      if (earlier === undefined) {
        this.#revocations.set(parsed.tokenId, parsed);
        if (credential !== undefined) {
          credential = {
            ...credential,
            revokedAt: parsed.revokedAt,
            ...(parsed.reason === undefined ? {} : { revokedReason: parsed.reason }),
          };
          this.#credentials.set(parsed.tokenId, credential);
        }
      }
      return {
        alreadyRevoked: earlier !== undefined,
        revocation: structuredClone(earlier ?? parsed),
        ...(credential === undefined ? {} : { credential: structuredClone(credential) }),
      };
    });
  }

  listRevocations(): Promise<RevocationRecord[]> {
    return this.#run(() => [...this.#revocations.values()].map((r) => structuredClone(r)));
  }

  /** Nothing to watch: one process owns a memory store. */
  watchRevocations(): Promise<void> {
    return this.#run(() => {});
  }

  putAdminToken(record: AdminTokenRecord): Promise<void> {
    return this.#run(() => {
      const parsed = parseStored(AdminTokenRecord, record.id, structuredClone(record));
      this.#adminTokens.set(parsed.id, parsed);
    });
  }

  listAdminTokens(): Promise<AdminTokenRecord[]> {
    return this.#run(() => [...this.#adminTokens.values()].map((r) => structuredClone(r)));
  }

  deleteAdminToken(id: string): Promise<boolean> {
    return this.#run(() => this.#adminTokens.delete(id));
  }

  appendAudit(entry: NewAuditEntry): Promise<AuditEntry> {
    return this.#run(() => {
      const id = newAuditId(entry.at);
      const full = parseStored(AuditEntry, id, { ...structuredClone(entry), id });
      this.#audit.push(full);
      return structuredClone(full);
    });
  }

  listAudit(page: PageRequest): Promise<Page<AuditEntry>> {
    return this.#run(() => {
      const sorted = [...this.#audit].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
      const result = pageOf(sorted, (e) => e.id, page);
      return { ...result, items: result.items.map((e) => structuredClone(e)) };
    });
  }

  pruneAudit(beforeMs: number): Promise<number> {
    return this.#run(() => {
      const floor = auditIdFloor(beforeMs);
      const before = this.#audit.length;
      const kept = this.#audit.filter((e) => e.id >= floor);
      this.#audit.splice(0, this.#audit.length, ...kept);
      return before - kept.length;
    });
  }

  heartbeatRelay(heartbeat: RelayHeartbeat): Promise<void> {
    return this.#run(() => {
      const record = RelayRecord.parse({ ...structuredClone(heartbeat), heartbeatAt: Date.now() });
      this.#relays.set(record.relayId, record);
    });
  }

  listRelays(): Promise<FleetSnapshot> {
    return this.#run(() => ({
      now: Date.now(),
      relays: [...this.#relays.values()].sort((a, b) => a.relayId < b.relayId ? -1 : 1)
        .map((r) => structuredClone(r)),
    }));
  }

  removeRelay(relayId: string): Promise<boolean> {
    return this.#run(() => this.#relays.delete(relayId));
  }

  pruneRelays(beforeMs: number): Promise<number> {
    return this.#run(() => {
      let pruned = 0;
      for (const [id, r] of this.#relays) {
        if (r.heartbeatAt < beforeMs && this.#relays.delete(id)) pruned++;
      }
      return pruned;
    });
  }

  close(): void {
    this.#closed = true;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
