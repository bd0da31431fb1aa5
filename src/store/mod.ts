/**
 * The relay's state store: the {@link Store} interface and its record schemas, the embedded Deno KV
 * implementation the relay uses, and an in-memory one for tests. A shared database (PostgreSQL, for
 * a fleet of relays) would be a third implementation passing `store_contract.ts`.
 * @module
 */
export {
  Actor,
  AdminTokenHash,
  AdminTokenRecord,
  AuditAction,
  AuditEntry,
  checkPageLimit,
  CredentialRecord,
  MAX_PAGE_SIZE,
  type NewAuditEntry,
  newAuditId,
  type Page,
  type PageRequest,
  RevocationRecord,
  type RevokeResult,
  type Store,
  StoreCorruptError,
} from "./store.ts";
export { KV_FILE_NAME, KvStore, openKvStore } from "./kv_store.ts";
export { MemoryStore } from "./memory_store.ts";
