/**
 * Crash-safe replacement of one file: write a fresh temporary file with the final mode, fsync it,
 * rename it over the target, fsync the folder. After a crash (kill -9, power loss) the target holds
 * either the old or the new content, never a mix; at worst a `<name>.tmp-*` file is left over, which
 * {@link removeLeftovers} clears. (src/pki/atomic_file.ts renames too but does not fsync: enough
 * for dev certificates, not for a renewal that must survive power loss.)
 * @module
 */
import { basename, dirname, join } from "node:path";

/** Options of {@link writeFileDurable}. */
export interface WriteFileDurableOptions {
  /** File mode; 0o600 for anything secret. @default {0o600} */
  mode?: number;
  /**
   * Called with the temporary file's path after it is written and synced, before the rename.
   * Test builds pause here to crash mid-commit; production code never sets it.
   */
  beforeCommit?: (temporaryPath: string) => Promise<void>;
}

/** Suffix of temporary files: `<name>.tmp-<12 hex digits>`. */
const TEMP_MARK = ".tmp-";

function randomSuffix(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(6)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/** Flushes a folder's entries (the rename) to disk; no-op where folders cannot be opened. */
async function syncFolder(path: string): Promise<void> {
  let dir: Deno.FsFile;
  try {
    dir = await Deno.open(path, { read: true });
  } catch {
    return; // not supported on this platform: the rename itself is still atomic
  }
  try {
    await dir.sync();
  } finally {
    dir.close();
  }
}

/**
 * Replaces `path` with `text` durably and atomically, with exactly `mode` (POSIX).
 * @throws {Deno.errors.NotFound} and the like when the folder is missing or not writable
 */
export async function writeFileDurable(
  path: string,
  text: string,
  options: WriteFileDurableOptions = {},
): Promise<void> {
  const { mode = 0o600, beforeCommit } = options;
  const temporary = `${path}${TEMP_MARK}${randomSuffix()}`;
  try {
    const file = await Deno.open(temporary, { write: true, createNew: true, mode });
    try {
      const bytes = new TextEncoder().encode(text);
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.chmod(temporary, mode); // the umask may have cleared bits we asked for
    await beforeCommit?.(temporary);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {}); // best effort; the original error matters
    throw error;
  }
  await syncFolder(dirname(path));
}

/** Deletes `<name>.tmp-*` files an interrupted write left beside `path`; returns their names. */
export async function removeLeftovers(path: string): Promise<string[]> {
  const folder = dirname(path);
  const prefix = `${basename(path)}${TEMP_MARK}`;
  const removed: string[] = [];
  for await (const entry of Deno.readDir(folder)) {
    if (entry.isFile && entry.name.startsWith(prefix)) {
      await Deno.remove(join(folder, entry.name));
      removed.push(entry.name);
    }
  }
  return removed;
}
