/**
 * The PostgreSQL store's schema: its tables, the migrations that build them, and the step that
 * applies the missing ones at open under an advisory lock, refusing a database newer than this build.
 *
 * Tables (schema version {@link SCHEMA_VERSION}):
 * ```
 * ztna_schema(version)                       one row: the schema version in the database
 * ztna_credential(token_id, issued_at, record)  listed by (issued_at, token_id) newest first
 * ztna_revocation(token_id, record)
 * ztna_admin_token(id, record)
 * ztna_audit(id, record)                     ids sort by time (collation "C": byte order)
 * ztna_relay(relay_id, heartbeat_at, record)  the fleet's heartbeats (postgres_fleet.ts)
 * ztna_acme_account, ztna_acme_certificate, ztna_acme_challenge  shared ACME (postgres_acme.ts)
 * ```
 * @module
 */
import type postgres from "postgres";
import { z } from "zod";
import { FLEET_MIGRATION } from "./postgres_fleet.ts";
import { ACME_MIGRATION } from "./postgres_acme.ts";

type Sql = postgres.Sql<Record<string, never>>;

/**
 * Migrations, applied in order; index + 1 is the version a migration brings the schema to. Never
 * edit a released one: append. Each runs in the transaction that records its version.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE ztna_credential (
     token_id text COLLATE "C" PRIMARY KEY,
     issued_at bigint NOT NULL,
     record jsonb NOT NULL);
   CREATE INDEX ztna_credential_by_time ON ztna_credential (issued_at DESC, token_id DESC);
   CREATE TABLE ztna_revocation (token_id text COLLATE "C" PRIMARY KEY, record jsonb NOT NULL);
   CREATE TABLE ztna_admin_token (id text COLLATE "C" PRIMARY KEY, record jsonb NOT NULL);
   CREATE TABLE ztna_audit (id text COLLATE "C" PRIMARY KEY, record jsonb NOT NULL);`,
  FLEET_MIGRATION,
  ACME_MIGRATION,
];

/** The schema version this build knows; a database at a higher one is refused. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Key of the advisory lock that serializes migrations between relays starting together. */
const MIGRATION_LOCK = 0x7a74_6e61; // "ztna"

/** A database whose schema this relay cannot use. */
export class SchemaVersionError extends Error {
  override readonly name = "SchemaVersionError";
}

const VersionRow = z.object({ version: z.number().int() });

/**
 * Applies the migrations the database lacks, one relay at a time.
 * @throws {SchemaVersionError} when the database's schema is newer than this build knows
 */
export async function migrate(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    // Held until this transaction ends: a second relay starting now waits, then sees the result.
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS ztna_schema (version integer NOT NULL)`;
    const rows = await tx`SELECT version FROM ztna_schema`;
    let version = rows.length === 0 ? 0 : VersionRow.parse(rows[0]).version;
    if (version > SCHEMA_VERSION) {
      throw new SchemaVersionError(
        `Cannot use the database: its schema is version ${version}, newer than this relay knows ` +
          `(${SCHEMA_VERSION}); upgrade this relay to the version the others run`,
      );
    }
    if (rows.length === 0) await tx`INSERT INTO ztna_schema (version) VALUES (0)`;
    while (version < SCHEMA_VERSION) {
      await tx.unsafe(MIGRATIONS[version]);
      version++;
      await tx`UPDATE ztna_schema SET version = ${version}`;
    }
  });
}
