/**
 * Spawns main.ts as a real process with exactly the permission set the compiled binary gets (-P=ztna),
 * and waits for readiness lines on its output instead of sleeping.
 * @module
 */

/** Repository root, so tests run from any cwd. */
export const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Arguments before main.ts: the one permission set shared with `deno task compile`. */
export const RUN_FLAGS = ["run", "-P=ztna", "--config", `${REPO_ROOT}/deno.json`];

/** A running ztna process whose output is collected and searchable. */
export class ZtnaProcess {
  readonly #child: Deno.ChildProcess;
  #output = "";
  #waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  readonly done: Promise<Deno.CommandStatus>;
  readonly name: string;

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
    this.name = options.name ?? args.join(" ");
    const [program, ...prefix] = [...(options.wrapper ?? []), Deno.execPath()];
    this.#child = new Deno.Command(program, {
      args: [...prefix, ...RUN_FLAGS, options.entry ?? `${REPO_ROOT}/main.ts`, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      cwd: options.cwd ?? REPO_ROOT,
      env: { NO_COLOR: "1", ...options.env },
    }).spawn();
    const pumps = [this.#pump(this.#child.stdout), this.#pump(this.#child.stderr)];
    this.done = Promise.all(pumps).then(() => this.#child.status);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      this.#output += decoder.decode(chunk, { stream: true });
      if (Deno.env.get("ZTNA_TEST_VERBOSE")) {
        await Deno.stderr.write(
          new TextEncoder().encode(`[${this.name}] ${decoder.decode(chunk)}`),
        );
      }
      this.#check();
    }
  }

  #check(): void {
    this.#waiters = this.#waiters.filter((w) => {
      const m = this.#output.match(w.re);
      if (m) w.resolve(m);
      return !m;
    });
  }

  /** Everything the process printed so far (stdout and stderr interleaved). */
  get output(): string {
    return this.#output;
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** Resolves when the output matches `re`; rejects after `timeoutMs` or if the process exits first. */
  waitFor(re: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const m = this.#output.match(re);
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`${this.name}: timed out waiting for ${re}\n--- output ---\n${this.#output}`),
        );
      }, timeoutMs);
      const waiter = {
        re,
        resolve: (v: RegExpMatchArray) => {
          clearTimeout(timer);
          resolve(v);
        },
      };
      this.#waiters.push(waiter);
      this.done.then((status) => {
        if (this.#waiters.includes(waiter)) {
          clearTimeout(timer);
          reject(new Error(`${this.name}: exited (${status.code}) before ${re}\n${this.#output}`));
        }
      });
    });
  }

  /** Sends a signal; ignores a process that is already gone. */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#child.kill(signal);
    } catch (e) {
      if (!(e instanceof TypeError)) throw e;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit status. */
  async stop(graceMs = 10_000): Promise<Deno.CommandStatus> {
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    try {
      return await this.done;
    } finally {
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Runs main.ts to completion and returns its exit code and output. */
export async function runZtna(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...RUN_FLAGS, `${REPO_ROOT}/main.ts`, ...args],
    stdin: "null",
    cwd: options.cwd ?? REPO_ROOT,
    env: { NO_COLOR: "1", ...options.env },
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
