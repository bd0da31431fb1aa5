/**
 * The shared {@link Store}: PostgreSQL, so several relays can later serve one fleet from one
 * database. Client: the npm package `postgres` (pure JavaScript over `node:net`/`node:tls`, no
 * native addon). TLS to the server is always on and always verified (finding C1); the password comes
 * from the caller (a file or `ZTNA_DB_PASSWORD`), never from the URL.
 *
 * Tables and migrations: postgres_schema.ts (applied at open under an advisory lock).
 * Records are JSON (`jsonb`), parsed with their zod schema when read back, like the KV store.
 * A revocation sends `NOTIFY ztna_revocations, '<token id>'` in the transaction that inserts it
 * (delivered on commit), which the fleet's other relays hear through `LISTEN`; their poll every
 * `pollMs` is the fallback for a notification lost with a dropped listening connection.
 * @module
 */
import { isIP } from "node:net";
// Before the client: it reads PG* variables, which the permission set does not grant (see there).
import "../runtime/npm_env.ts";
import postgres from "postgres";
import { z } from "zod";
import * as fleet from "./postgres_fleet.ts";
import { postgresAcme } from "./postgres_acme.ts";
import { migrate } from "./postgres_schema.ts";
import { REVOCATION_CHANNEL, watchRevocations } from "./postgres_revocation_watch.ts";
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
  RevocationRecord,
  type RevokeResult,
  type SharedAcmeState,
  type Store,
  type WatchRevocationsOptions,
} from "./store.ts";

export { REVOCATION_CHANNEL } from "./postgres_revocation_watch.ts";
export { SCHEMA_VERSION, SchemaVersionError } from "./postgres_schema.ts";

/** The client's handle; `postgres.Sql` without custom types. */
type Sql = postgres.Sql<Record<string, never>>;

/** Where and how to connect. */
export interface PostgresStoreOptions {
  /** `postgres://user@host:port/database`; a password in it is refused (it belongs in a file). */
  url: string;
  password?: string;
  /** PEM CA bundle that signed the server's certificate; the system roots when absent. */
  caCerts?: string[];
  /** Connections in the pool. @default {4} */
  maxConnections?: number;
}

/** Audit entries deleted per statement when pruning: bounded work per round trip. */
const PRUNE_BATCH = 500;

/** The opaque credential cursor: the (issuedAt, tokenId) of the last item given out. */
const CredentialCursor = z.tuple([z.number().int().min(0), z.string().min(1).max(64)]);

function encodeCursor(value: unknown): string {
  return btoa(JSON.stringify(value)).replaceAll("=", "");
}

function decodeCursor<T extends z.ZodType>(schema: T, cursor: string): z.output<T> {
  try {
    return schema.parse(JSON.parse(atob(cursor)));
  } catch (error) {
    throw new RangeError("Cannot list as 'cursor' is not one this store gave out", {
      cause: error,
    });
  }
}

const Row = z.object({ record: z.unknown() });

/** Parses the connection URL, refusing what does not belong in it. */
function parseUrl(url: string) {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error("Cannot use the database URL: expected postgres://user@host:port/database");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new Error("Cannot use the database URL: expected the scheme postgres://");
  }
  if (parsed.password !== "") {
    throw new Error(
      "Cannot use the database URL: it holds a password; put it in password_file or ZTNA_DB_PASSWORD",
    );
  }
  if (parsed.search !== "") {
    // Query options (sslmode=disable among them) could weaken TLS: none is accepted.
    throw new Error("Cannot use the database URL: expected no ?options");
  }
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const database = decodeURIComponent(parsed.pathname.slice(1));
  const user = decodeURIComponent(parsed.username);
  if (hostname === "" || user === "" || database === "") {
    throw new Error("Cannot use the database URL: expected a user, a host and a database name");
  }
  return { hostname, port: parsed.port === "" ? 5432 : Number(parsed.port), user, database };
}

/**
 * Connects, applies pending migrations under an advisory lock and checks the schema version.
 * @throws {SchemaVersionError} when the database's schema is newer than this build knows
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const target = parseUrl(options.url);
  const sql: Sql = postgres({
    host: target.hostname,
    port: target.port,
    user: target.user,
    database: target.database,
    pass: options.password ?? "",
    // Always TLS, always verified: an object here means TLS (never plain), and Node's TLS verifies
    // by default; nothing in this store's options or the URL can turn it off (the URL takes no
    // ?options; Node's environment switch reads as unset under the permission set).
    ssl: {
      // SNI takes names only; an IP address is still checked against the certificate's IP SANs.
      ...(isIP(target.hostname) === 0 ? { servername: target.hostname } : {}),
      ...(options.caCerts ? { ca: options.caCerts } : {}),
    },
    max: options.maxConnections ?? 4,
    connect_timeout: 10,
    idle_timeout: 60,
    // Notices (such as "relation exists") are not the relay's log lines.
    onnotice: () => {},
    connection: { application_name: "ztna-relay" },
  });
  try {
    await migrate(sql);
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw error;
  }
  return new PostgresStore(sql);
}

/** The PostgreSQL store. */
export class PostgresStore implements Store {
  #closed = false;
  #ended: Promise<void> = Promise.resolve();

  constructor(readonly sql: Sql) {}

  /** The fleet's shared ACME state, on this store's connections. */
  readonly acme: SharedAcmeState = postgresAcme(() => this.#db());

  /** The connection pool; refused once closed, so a late caller gets a clear error. */
  #db(): Sql {
    if (this.#closed) throw new Error("Cannot use the state store: it is closed");
    return this.sql;
  }

  async putCredential(record: CredentialRecord): Promise<void> {
    const parsed = CredentialRecord.parse(record);
    const sql = this.#db();
    const rows = await sql`
      INSERT INTO ztna_credential (token_id, issued_at, record)
      VALUES (${parsed.tokenId}, ${parsed.issuedAt}, ${sql.json(parsed)})
      ON CONFLICT (token_id) DO NOTHING RETURNING token_id`;
    if (rows.length === 0) {
      throw new Deno.errors.AlreadyExists(`Cannot store credential ${parsed.tokenId}: it exists`);
    }
  }

  async getCredential(tokenId: string): Promise<CredentialRecord | undefined> {
    const rows = await this.#db()`
      SELECT record FROM ztna_credential WHERE token_id = ${tokenId}`;
    if (rows.length === 0) return undefined;
    return parseStored(CredentialRecord, `credential/${tokenId}`, Row.parse(rows[0]).record);
  }

  async listCredentials(page: PageRequest): Promise<Page<CredentialRecord>> {
    checkPageLimit(page.limit);
    const sql = this.#db();
    const after = page.cursor === undefined
      ? undefined
      : decodeCursor(CredentialCursor, page.cursor);
    const rows = after === undefined
      ? await sql`SELECT record FROM ztna_credential
          ORDER BY issued_at DESC, token_id DESC LIMIT ${page.limit + 1}`
      : await sql`SELECT record FROM ztna_credential
          WHERE (issued_at, token_id) < (${after[0]}, ${after[1]})
          ORDER BY issued_at DESC, token_id DESC LIMIT ${page.limit + 1}`;
    const items = rows.slice(0, page.limit).map((row) =>
      parseStored(CredentialRecord, "credential", Row.parse(row).record)
    );
    const last = items.at(-1);
    return rows.length > page.limit && last !== undefined
      ? { items, next: encodeCursor([last.issuedAt, last.tokenId]) }
      : { items };
  }

  async revoke(revocation: RevocationRecord): Promise<RevokeResult> {
    const parsed = RevocationRecord.parse(revocation);
    return await this.#db().begin(async (tx) => {
      // A concurrent revoke of the same id waits here for the first to commit, then finds it.
      const inserted = await tx`
        INSERT INTO ztna_revocation (token_id, record) VALUES (${parsed.tokenId}, ${
        tx.json(parsed)
      })
        ON CONFLICT (token_id) DO NOTHING RETURNING token_id`;
      const credRows = await tx`
        SELECT record FROM ztna_credential WHERE token_id = ${parsed.tokenId} FOR UPDATE`;
      const found = credRows.length === 0 ? undefined : parseStored(
        CredentialRecord,
        `credential/${parsed.tokenId}`,
        Row.parse(credRows[0]).record,
      );
      if (inserted.length === 0) {
        const earlier = await tx`
          SELECT record FROM ztna_revocation WHERE token_id = ${parsed.tokenId}`;
        return {
          alreadyRevoked: true,
          revocation: parseStored(
            RevocationRecord,
            `revocation/${parsed.tokenId}`,
            Row.parse(earlier[0]).record,
          ),
          ...(found === undefined ? {} : { credential: found }),
        };
      }
      // Delivered at commit only, so a listener never hears of a revocation that rolled back.
      await tx`SELECT pg_notify(${REVOCATION_CHANNEL}, ${parsed.tokenId})`;
      if (found === undefined) return { alreadyRevoked: false, revocation: parsed };
      const credential: CredentialRecord = {
        ...found,
        revokedAt: parsed.revokedAt,
        ...(parsed.reason === undefined ? {} : { revokedReason: parsed.reason }),
      };
      await tx`UPDATE ztna_credential SET record = ${tx.json(credential)}
        WHERE token_id = ${parsed.tokenId}`;
      return { alreadyRevoked: false, revocation: parsed, credential };
    });
  }

  async listRevocations(): Promise<RevocationRecord[]> {
    const rows = await this.#db()`SELECT token_id, record FROM ztna_revocation ORDER BY token_id`;
    return rows.map((row) => parseStored(RevocationRecord, "revocation", Row.parse(row).record));
  }

  /** LISTEN for pushes plus polling as the fallback: postgres_revocation_watch.ts. */
  watchRevocations(
    onRevoked: (tokenIds: string[]) => void,
    options: WatchRevocationsOptions,
  ): Promise<void> {
    return watchRevocations(this.#db(), () => this.#closed, onRevoked, options);
  }

  async putAdminToken(record: AdminTokenRecord): Promise<void> {
    const parsed = AdminTokenRecord.parse(record);
    const sql = this.#db();
    await sql`INSERT INTO ztna_admin_token (id, record) VALUES (${parsed.id}, ${sql.json(parsed)})
      ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record`;
  }

  async listAdminTokens(): Promise<AdminTokenRecord[]> {
    const rows = await this.#db()`SELECT record FROM ztna_admin_token ORDER BY id`;
    return rows.map((row) => parseStored(AdminTokenRecord, "admin_token", Row.parse(row).record));
  }

  async deleteAdminToken(id: string): Promise<boolean> {
    const rows = await this.#db()`DELETE FROM ztna_admin_token WHERE id = ${id} RETURNING id`;
    return rows.length > 0;
  }

  async appendAudit(entry: NewAuditEntry): Promise<AuditEntry> {
    const sql = this.#db();
    for (let attempt = 0; attempt < 8; attempt++) {
      const full = AuditEntry.parse({ ...entry, id: newAuditId(entry.at) });
      // The id carries 32 random bits; the conflict check only guards against overwriting.
      const rows = await sql`INSERT INTO ztna_audit (id, record) VALUES (${full.id}, ${
        sql.json(full)
      })
        ON CONFLICT (id) DO NOTHING RETURNING id`;
      if (rows.length > 0) return full;
    }
    throw new Error("Cannot append to the audit log: no free id");
  }

  async listAudit(page: PageRequest): Promise<Page<AuditEntry>> {
    checkPageLimit(page.limit);
    const sql = this.#db();
    const after = page.cursor === undefined
      ? undefined
      : decodeCursor(z.tuple([AuditEntry.shape.id]), page.cursor)[0];
    const rows = after === undefined
      ? await sql`SELECT record FROM ztna_audit ORDER BY id DESC LIMIT ${page.limit + 1}`
      : await sql`SELECT record FROM ztna_audit WHERE id < ${after}
          ORDER BY id DESC LIMIT ${page.limit + 1}`;
    const items = rows.slice(0, page.limit).map((row) =>
      parseStored(AuditEntry, "audit", Row.parse(row).record)
    );
    const last = items.at(-1);
    return rows.length > page.limit && last !== undefined
      ? { items, next: encodeCursor([last.id]) }
      : { items };
  }

  async pruneAudit(beforeMs: number): Promise<number> {
    const sql = this.#db();
    const floor = auditIdFloor(beforeMs);
    let pruned = 0;
    // Oldest first, a bounded batch per statement: a long-unpruned log never makes one huge write.
    while (true) {
      const rows = await sql`DELETE FROM ztna_audit WHERE id IN (
          SELECT id FROM ztna_audit WHERE id < ${floor} ORDER BY id LIMIT ${PRUNE_BATCH})
        RETURNING id`;
      if (rows.length === 0) return pruned;
      pruned += rows.length;
    }
  }

  heartbeatRelay(heartbeat: RelayHeartbeat): Promise<void> {
    return fleet.heartbeatRelay(this.#db(), heartbeat);
  }

  listRelays(): Promise<FleetSnapshot> {
    return fleet.listRelays(this.#db());
  }

  removeRelay(relayId: string): Promise<boolean> {
    return fleet.removeRelay(this.#db(), relayId);
  }

  pruneRelays(beforeMs: number): Promise<number> {
    return fleet.pruneRelays(this.#db(), beforeMs);
  }

  /** Resolves once every connection is closed (after {@link close}). */
  get ended(): Promise<void> {
    return this.#ended;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Queries already sent finish; the sockets close right after (5 s at most).
    this.#ended = this.sql.end({ timeout: 5 });
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
