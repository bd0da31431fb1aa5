/**
 * Resident memory and CPU time of a process, read from /proc. Deno grants /proc reads only with
 * --allow-all, so `cat` and `getconf` (always present) read for us; the bench has --allow-run.
 * @module
 */

async function run(command: string, args: string[]): Promise<string | undefined> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "null" }).output();
  return out.success ? new TextDecoder().decode(out.stdout) : undefined;
}

/** Resident set size of `pid` in KiB; undefined when the process is gone. */
export async function rssKiB(pid: number): Promise<number | undefined> {
  const status = await run("cat", [`/proc/${pid}/status`]);
  const kib = status && /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kib ? Number(kib) : undefined;
}

let ticksPerSecond: number | undefined;

/** User plus system CPU time of `pid` in milliseconds; undefined when the process is gone. */
export async function cpuMs(pid: number): Promise<number | undefined> {
  ticksPerSecond ??= Number((await run("getconf", ["CLK_TCK"]))?.trim()) || 100;
  const stat = await run("cat", [`/proc/${pid}/stat`]);
  if (!stat) return undefined;
  // Fields after the command name, which sits in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1_000) / ticksPerSecond;
}

/** CPU milliseconds each of `pids` spends while `body` runs, with `body`'s result. */
export async function withCpu<T>(
  pids: Record<string, number>,
  body: () => Promise<T>,
): Promise<{ value: T; cpuMs: Record<string, number> }> {
  const names = Object.keys(pids);
  const before = await Promise.all(names.map((n) => cpuMs(pids[n])));
  const value = await body();
  const after = await Promise.all(names.map((n) => cpuMs(pids[n])));
  const used: Record<string, number> = {};
  names.forEach((n, i) => {
    const a = after[i];
    const b = before[i];
    if (a !== undefined && b !== undefined) used[n] = a - b;
  });
  return { value, cpuMs: used };
}
