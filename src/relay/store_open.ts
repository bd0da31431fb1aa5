/**
 * Opens the relay's state store: Deno KV under `state_dir`, or the PostgreSQL database of
 * `[intermediate.store]`, with a failure worded to name the folder and the key that fixes it.
 * @module
 */
import { join } from "node:path";
import type { IntermediateConfig } from "../config/schema.ts";
import { describeFsError } from "../config/mod.ts";
import { KV_FILE_NAME, openConfiguredPostgres, openKvStore, type Store } from "../store/mod.ts";

/**
 * Opens the state store: Deno KV under `state_dir` (claimed by claimStateDir first), or the
 * PostgreSQL database of `[intermediate.store]`, its password from ZTNA_DB_PASSWORD or
 * password_file (the loader checked that one of them is there).
 */
export async function openStore(config: IntermediateConfig): Promise<Store> {
  const store = config.store;
  if (store.kind === "postgres") return await openConfiguredPostgres(store);
  const path = join(config.state_dir, KV_FILE_NAME);
  try {
    return await openKvStore(path);
  } catch (error) {
    const { reason } = describeFsError(error, "write");
    throw new Error(
      `Cannot open the state store ${path}: ${reason}; set intermediate.state_dir to a writable folder`,
      { cause: error },
    );
  }
}
