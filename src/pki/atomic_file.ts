/**
 * Writes key, certificate and token files so that readers never see half a file and secrets never
 * exist with loose permissions, even for an instant: the text goes to a fresh temporary file created
 * with the final mode, which is then renamed over the target.
 * @module
 */

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** File mode; 0o600 for anything secret. @default {0o600} */
  mode?: number;
  /** What to do when the target exists. @default {"replace"} */
  ifExists?: "replace" | "fail";
}

/**
 * Writes `text` to `path` atomically with exactly `mode` (on POSIX systems).
 * @throws {Deno.errors.AlreadyExists} with `ifExists: "fail"` when `path` exists
 */
export async function writeFileAtomic(
  path: string,
  text: string,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const { mode = 0o600, ifExists = "replace" } = options;
  if (ifExists === "fail") {
    // createNew is atomic on its own; mode applies because the file is new.
    await Deno.writeTextFile(path, text, { createNew: true, mode });
    await Deno.chmod(path, mode);
    return;
  }
  const suffix = Array.from(
    crypto.getRandomValues(new Uint8Array(6)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  const temporary = `${path}.tmp-${suffix}`;
  await Deno.writeTextFile(temporary, text, { createNew: true, mode });
  try {
    await Deno.chmod(temporary, mode); // the umask may have cleared bits we asked for
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {}); // best effort; the original error matters
    throw error;
  }
}
