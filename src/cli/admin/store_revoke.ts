/**
 * `ztna admin token revoke --config <relay.toml>` for a relay on PostgreSQL: the revocation goes
 * into the shared store (with its NOTIFY), so every relay of the fleet closes the token's
 * connections within its push latency (its poll interval at worst), and is audited like one made
 * through the admin API. The database password is never printed.
 * @module
 */
import type { PostgresStoreConfig } from "../../config/schema.ts";
import { openConfiguredPostgres } from "../../store/mod.ts";

/** The database could not be opened (the message names intermediate.store.url, never a secret). */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}

/** Who the audit log names for a revocation made with this command. */
const CLI_ACTOR = "cli:token-revoke";

/**
 * Revokes `command.id` in the relay's store; resolves with the exit status.
 * @throws {StoreUnavailableError} when the database cannot be opened
 */
export async function revokeInStore(
  store: PostgresStoreConfig,
  command: { id: string; reason?: string | undefined },
  io: { out(line: string): void; err(line: string): void },
  nowMs: number,
): Promise<number> {
  let opened;
  try {
    opened = await openConfiguredPostgres(store);
  } catch (error) {
    throw new StoreUnavailableError(error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }
  try {
    const at = nowMs;
    const result = await opened.revoke({
      tokenId: command.id,
      revokedAt: at,
      revokedBy: CLI_ACTOR,
      ...(command.reason === undefined ? {} : { reason: command.reason }),
    });
    await opened.appendAudit({
      at,
      actor: CLI_ACTOR,
      action: "token.revoke",
      target: command.id,
      outcome: "ok",
      ...(result.alreadyRevoked ? { detail: "already revoked" } : {}),
    });
    const where = new URL(store.url);
    io.out(
      result.alreadyRevoked
        ? `token ${command.id} is already revoked in the shared store ${where.host}${where.pathname}`
        : `revoked token ${command.id} in the shared store ${where.host}${where.pathname}`,
    );
    io.err(
      "every relay on this database closes that token's connections within seconds " +
        "(NOTIFY, or its revocation_poll_ms at worst)",
    );
    return 0;
  } finally {
    opened.close();
    await opened.ended;
  }
}
