/**
 * Shared ACME state in the PostgreSQL store, for a fleet whose relays serve one certificate:
 * the account key per directory, the certificate with its private key, the pending HTTP-01
 * challenges (so whichever relay the CA reaches answers), and the order lock (one relay orders at
 * a time; `pg_try_advisory_xact_lock`, held by a transaction open for the order). Tables
 * (migration 3 of postgres_schema.ts): `ztna_acme_account(directory_url, key_pem)`,
 * `ztna_acme_certificate(id = 1, record)`, `ztna_acme_challenge(token, key_authorization,
 * created_at)`. Private keys are stored as PEM: the database's access control and TLS protect
 * them, as the state_dir's file modes do for one relay (docs/SECURITY.md).
 * @module
 */
import type postgres from "postgres";
import { z } from "zod";
import { AcmeCertificateRecord, parseStored, type SharedAcmeState } from "./store.ts";

type Sql = postgres.Sql<Record<string, never>>;

/** The migration that brings the ACME tables. */
export const ACME_MIGRATION = `CREATE TABLE ztna_acme_account (
     directory_url text COLLATE "C" PRIMARY KEY,
     key_pem text NOT NULL);
   CREATE TABLE ztna_acme_certificate (
     id integer PRIMARY KEY CHECK (id = 1),
     record jsonb NOT NULL);
   CREATE TABLE ztna_acme_challenge (
     token text COLLATE "C" PRIMARY KEY,
     key_authorization text NOT NULL,
     created_at bigint NOT NULL);`;

/** Key of the advisory lock one ordering relay holds (distinct from the migration lock). */
const ORDER_LOCK = 0x7a74_6e62;

/**
 * Challenges older than this are deleted when a new one is stored: an order that died with its
 * relay leaves nothing behind for longer than any CA validates (minutes).
 */
const CHALLENGE_TTL_MS = 3_600_000;

const KeyRow = z.object({ key_pem: z.string() });
const Row = z.object({ record: z.unknown() });
const ChallengeRow = z.object({ key_authorization: z.string() });
const LockRow = z.object({ ok: z.boolean() });

/** The PostgreSQL implementation of {@link SharedAcmeState}. */
export function postgresAcme(db: () => Sql): SharedAcmeState {
  return {
    async acmeAccountKey(directoryUrl, create) {
      const sql = db();
      const found = await sql`SELECT key_pem FROM ztna_acme_account
        WHERE directory_url = ${directoryUrl}`;
      if (found.length > 0) return KeyRow.parse(found[0]).key_pem;
      const pem = await create();
      // Two relays creating at once: the first insert wins and both use its key.
      await sql`INSERT INTO ztna_acme_account (directory_url, key_pem)
        VALUES (${directoryUrl}, ${pem}) ON CONFLICT (directory_url) DO NOTHING`;
      const rows = await sql`SELECT key_pem FROM ztna_acme_account
        WHERE directory_url = ${directoryUrl}`;
      return KeyRow.parse(rows[0]).key_pem;
    },
    async getAcmeCertificate() {
      const rows = await db()`SELECT record FROM ztna_acme_certificate WHERE id = 1`;
      if (rows.length === 0) return undefined;
      return parseStored(AcmeCertificateRecord, "acme_certificate", Row.parse(rows[0]).record);
    },
    async putAcmeCertificate(record) {
      const parsed = AcmeCertificateRecord.parse(record);
      const sql = db();
      await sql`INSERT INTO ztna_acme_certificate (id, record) VALUES (1, ${sql.json(parsed)})
        ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record`;
    },
    async putAcmeChallenge(token, keyAuthorization, nowMs) {
      const sql = db();
      await sql`DELETE FROM ztna_acme_challenge WHERE created_at < ${nowMs - CHALLENGE_TTL_MS}`;
      await sql`INSERT INTO ztna_acme_challenge (token, key_authorization, created_at)
        VALUES (${token}, ${keyAuthorization}, ${nowMs})
        ON CONFLICT (token) DO UPDATE SET key_authorization = EXCLUDED.key_authorization`;
    },
    async getAcmeChallenge(token) {
      const rows = await db()`SELECT key_authorization FROM ztna_acme_challenge
        WHERE token = ${token}`;
      return rows.length === 0 ? undefined : ChallengeRow.parse(rows[0]).key_authorization;
    },
    async deleteAcmeChallenge(token) {
      await db()`DELETE FROM ztna_acme_challenge WHERE token = ${token}`;
    },
    async tryAcmeOrderLock(order) {
      return await db().begin(async (tx) => {
        const [row] = await tx`SELECT pg_try_advisory_xact_lock(${ORDER_LOCK}) AS ok`;
        if (!LockRow.parse(row).ok) return undefined;
        // Held until this transaction ends, however long the order takes.
        return { value: await order() };
      });
    },
  };
}
