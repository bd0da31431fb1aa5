/**
 * Spawns main.ts as a real process with exactly the permission set the compiled binary gets (-P=ztna),
 * and waits for readiness lines on its output instead of sleeping.
 * @module
 */

import { WatchedProcess } from "./watched_process.ts";

/** Repository root, so tests run from any cwd. */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Arguments before main.ts: the one permission set shared with `deno task compile`. */
export const RUN_FLAGS = ["run", "-q", "-P=ztna", "--config", `${REPO_ROOT}/deno.json`];

/** A running ztna process whose output is collected and searchable. */
export class ZtnaProcess extends WatchedProcess {
  constructor(
    args: string[],
    options: {
      name?: string;
      env?: Record<string, string>;
      cwd?: string;
      entry?: string;
      /**
       * Command prefix that must exec deno (so `pid` and signals reach deno itself), e.g.
       * `["ip", "netns", "exec", "ns1"]` to run in a network namespace. @default {[]}
       */
      wrapper?: string[];
    } = {},
  ) {
    const [program, ...prefix] = [...(options.wrapper ?? []), Deno.execPath()];
    super(program, [...prefix, ...RUN_FLAGS, options.entry ?? `${REPO_ROOT}/main.ts`, ...args], {
      name: options.name ?? args.join(" "),
      cwd: options.cwd ?? REPO_ROOT,
      env: { NO_COLOR: "1", ...options.env },
    });
  }
}

/**
 * Runs main.ts to completion and returns its exit code and output. A run that has not ended after
 * `timeoutMs` is killed (so a command that should have exited at once fails instead of hanging).
 */
export async function runZtna(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...RUN_FLAGS, `${REPO_ROOT}/main.ts`, ...args],
    stdin: "null",
    cwd: options.cwd ?? REPO_ROOT,
    env: { NO_COLOR: "1", ...options.env },
    signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A fresh folder under state/ (inside the permission set's write scope), removed by dispose. */
export async function tempDir(prefix = "t"): Promise<AsyncDisposable & { path: string }> {
  await Deno.mkdir(`${REPO_ROOT}/state/test`, { recursive: true });
  const path = await Deno.makeTempDir({ dir: `${REPO_ROOT}/state/test`, prefix: `${prefix}-` });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}
