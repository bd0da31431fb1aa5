/**
 * Reads a process's resident memory from /proc, for memory bounds in e2e tests. Deno grants
 * /proc reads only with --allow-all, so `cat` (coreutils, always present) reads it for us.
 * @module
 */

/** Resident set size of `pid` in MiB (0 when the process is gone). */
export async function rssMiB(pid: number): Promise<number> {
  const out = await new Deno.Command("cat", {
    args: [`/proc/${pid}/status`],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  if (!out.success) return 0;
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(new TextDecoder().decode(out.stdout))?.[1] ?? 0);
  return Math.round(kib / 1024);
}

/** One-letter state of `pid` from /proc (R, S, T, Z…), or "" when the process is gone. */
export async function processState(pid: number): Promise<string> {
  const out = await new Deno.Command("cat", {
    args: [`/proc/${pid}/stat`],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  if (!out.success) return "";
  // Format: pid (comm) state …; comm may contain spaces, so read after the last ')'.
  const text = new TextDecoder().decode(out.stdout);
  return text.slice(text.lastIndexOf(")") + 2, text.lastIndexOf(")") + 3);
}
