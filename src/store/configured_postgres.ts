/**
 * Opens the PostgreSQL store that `[intermediate.store] kind = "postgres"` names: the password from
 * ZTNA_DB_PASSWORD or password_file (the loader checked that one of them is there), the CA bundle
 * from `ca`. The relay and `ztna admin token revoke --config` open it the same way.
 * @module
 */
import { readCaBundle } from "../config/files.ts";
import type { StoreConfig } from "../config/schema.ts";
import { openPostgresStore, type PostgresStore } from "./postgres_store.ts";

/**
 * Opens and migrates the database.
 * @throws {Error} naming intermediate.store.url, never the password
 */
export async function openConfiguredPostgres(
  store: Extract<StoreConfig, { kind: "postgres" }>,
): Promise<PostgresStore> {
  const fromEnv = Deno.env.get("ZTNA_DB_PASSWORD");
  const password = fromEnv !== undefined && fromEnv !== ""
    ? fromEnv
    : store.password_file === undefined
    ? undefined
    // A trailing newline (echo > file) is not part of the password.
    : (await Deno.readTextFile(store.password_file)).replace(/\r?\n$/, "");
  const caCerts = store.ca === undefined ? undefined : [await readCaBundle(store.ca)];
  try {
    return await openPostgresStore({
      url: store.url,
      ...(password === undefined ? {} : { password }),
      ...(caCerts === undefined ? {} : { caCerts }),
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot open the PostgreSQL store (intermediate.store.url): ${reason}`, {
      cause: error,
    });
  }
}
