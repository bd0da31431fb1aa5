/**
 * The fleet table of the PostgreSQL store: each relay's heartbeat row, stamped with the database's
 * clock (`clock_timestamp()`), so ages compare one clock and a relay whose own clock is off is
 * neither taken for dead nor kept alive. Table (migration 2 of postgres_schema.ts):
 * `ztna_relay(relay_id, heartbeat_at, record)`; `record` is the {@link RelayRecord} without
 * `heartbeatAt`, which is the column.
 * @module
 */
import type postgres from "postgres";
import { z } from "zod";
import { type FleetSnapshot, parseStored, type RelayHeartbeat, RelayRecord } from "./store.ts";

type Sql = postgres.Sql<Record<string, never>>;

/** The migration that brings the fleet table. */
export const FLEET_MIGRATION = `CREATE TABLE ztna_relay (
     relay_id text COLLATE "C" PRIMARY KEY,
     heartbeat_at bigint NOT NULL,
     record jsonb NOT NULL);`;

/** Milliseconds since the epoch by the database's clock, as SQL. */
const NOW_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

const RelayRow = z.object({
  heartbeat_at: z.coerce.number(),
  record: z.record(z.string(), z.unknown()),
});
const NowRow = z.object({ now: z.coerce.number() });

/** Inserts or replaces the row of `heartbeat.relayId`. */
export async function heartbeatRelay(sql: Sql, heartbeat: RelayHeartbeat): Promise<void> {
  const record = RelayRecord.omit({ heartbeatAt: true }).parse(heartbeat);
  await sql`INSERT INTO ztna_relay (relay_id, heartbeat_at, record)
    VALUES (${record.relayId}, ${sql.unsafe(NOW_MS)}, ${sql.json(record)})
    ON CONFLICT (relay_id) DO UPDATE
      SET heartbeat_at = EXCLUDED.heartbeat_at, record = EXCLUDED.record`;
}

/** Every row, by id, with the database's clock. */
export async function listRelays(sql: Sql): Promise<FleetSnapshot> {
  return await sql.begin(async (tx) => {
    const [now] = await tx`SELECT ${tx.unsafe(NOW_MS)} AS now`;
    const rows = await tx`SELECT heartbeat_at, record FROM ztna_relay ORDER BY relay_id`;
    return {
      now: NowRow.parse(now).now,
      relays: rows.map((row) => {
        const { heartbeat_at, record } = RelayRow.parse(row);
        return parseStored(RelayRecord, "relay", { ...record, heartbeatAt: heartbeat_at });
      }),
    };
  });
}

/** Deletes one row; false when there was none. */
export async function removeRelay(sql: Sql, relayId: string): Promise<boolean> {
  const rows = await sql`DELETE FROM ztna_relay WHERE relay_id = ${relayId} RETURNING relay_id`;
  return rows.length > 0;
}

/** Deletes rows older than `beforeMs` (database clock); returns how many. */
export async function pruneRelays(sql: Sql, beforeMs: number): Promise<number> {
  const rows =
    await sql`DELETE FROM ztna_relay WHERE heartbeat_at < ${beforeMs} RETURNING relay_id`;
  return rows.length;
}
