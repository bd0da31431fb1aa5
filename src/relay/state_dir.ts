/**
 * The relay's state folder: created private (0700, files 0600: it holds credential metadata and
 * the audit log), and locked so a second relay on the same `state_dir` stops with a clear error
 * instead of sharing one store unnoticed.
 * @module
 */
import { join } from "node:path";
import { describeFsError } from "../config/mod.ts";
import { KV_FILE_NAME } from "../store/mod.ts";

/** Lock file inside state_dir; held (flock) while the relay runs, released by the kernel on exit. */
export const LOCK_FILE_NAME = "relay.lock";

/** How long to wait for the lock before deciding another relay holds it. */
const LOCK_WAIT_MS = 1_000;

/** A state folder this process holds; dispose to release it. */
export interface StateDirLock extends Disposable {
  readonly path: string;
}

/** A state folder problem, worded for the operator (path and fix). */
export class StateDirError extends Error {
  override readonly name = "StateDirError";
}

function reasonOf(error: unknown): string {
  return describeFsError(error, "write").reason;
}

/**
 * Creates `stateDir` (0700), tightens the store's files to 0600 and takes the folder's lock.
 * @throws {StateDirError} naming the folder when it cannot be created or another relay holds it
 */
export async function claimStateDir(stateDir: string): Promise<StateDirLock> {
  try {
    await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
    // An existing folder keeps its mode through mkdir; state is private to the relay's user.
    await Deno.chmod(stateDir, 0o700);
  } catch (error) {
    throw new StateDirError(
      `Cannot create the state folder ${stateDir}: ${reasonOf(error)}; set ` +
        "intermediate.state_dir to a folder the relay may write (/var/lib/ztna in production)",
      { cause: error },
    );
  }
  const lockPath = join(stateDir, LOCK_FILE_NAME);
  const file = await Deno.open(lockPath, { read: true, write: true, create: true, mode: 0o600 });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const locked = await Promise.race([
    file.lock(true).then(() => true),
    new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), LOCK_WAIT_MS)),
  ]);
  clearTimeout(timer);
  if (!locked) {
    throw new StateDirError(
      `Cannot use the state folder ${stateDir}: another relay is running with it (it holds ` +
        `${lockPath}); give each relay its own intermediate.state_dir, or stop the other one`,
    );
  }
  // SQLite creates ztna.kv-wal and -shm with the main file's mode: make that one private first.
  const kvPath = join(stateDir, KV_FILE_NAME);
  for (const path of [kvPath, `${kvPath}-wal`, `${kvPath}-shm`]) {
    await Deno.chmod(path, 0o600).catch(() => {});
  }
  try {
    using _created = await Deno.open(kvPath, { write: true, createNew: true, mode: 0o600 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  return {
    path: stateDir,
    [Symbol.dispose]() {
      try {
        file.close();
      } catch { /* already closed */ }
    },
  };
}
