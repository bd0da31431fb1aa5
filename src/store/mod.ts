/**
 * The relay's state store: the {@link Store} interface and its record schemas, the embedded Deno KV
 * implementation the relay uses by default, the PostgreSQL one (shared by a fleet of relays) and an
 * in-memory one for tests; all three pass `store_contract.ts`.
 * @module
 */
export {
  AcmeCertificateRecord,
  Actor,
  AdminTokenHash,
  AdminTokenRecord,
  AdvertisedAddress,
  AuditAction,
  AuditEntry,
  checkPageLimit,
  CredentialRecord,
  type FleetSnapshot,
  MAX_ADVERTISED,
  MAX_PAGE_SIZE,
  type NewAuditEntry,
  newAuditId,
  type Page,
  type PageRequest,
  type RelayHeartbeat,
  RelayId,
  RelayRecord,
  RevocationRecord,
  type RevokeResult,
  type SharedAcmeState,
  type Store,
  StoreCorruptError,
  type WatchRevocationsOptions,
} from "./store.ts";
export { KV_FILE_NAME, KvStore, openKvStore } from "./kv_store.ts";
export { MemoryStore } from "./memory_store.ts";
export {
  openPostgresStore,
  PostgresStore,
  type PostgresStoreOptions,
  SCHEMA_VERSION,
  SchemaVersionError,
} from "./postgres_store.ts";
export { openConfiguredPostgres } from "./configured_postgres.ts";
