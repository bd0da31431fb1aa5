/**
 * A child process whose stdout and stderr are collected and searchable, so tests wait for a
 * readiness line instead of sleeping, and stop it with SIGTERM then SIGKILL. Base of ZtnaProcess
 * (our binary) and LabProcess (any command inside a network namespace).
 * @module
 */

/** Options of {@link WatchedProcess}. */
export interface WatchedProcessOptions {
  /** Name used in error messages. @default {the command line} */
  name?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Default deadline of {@link WatchedProcess.waitFor}. @default {15000} */
  waitTimeoutMs?: number;
  /** Default grace between SIGTERM and SIGKILL in {@link WatchedProcess.stop}. @default {10000} */
  stopGraceMs?: number;
}

/** A running command with collected output. */
export class WatchedProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  #output = "";
  #waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  readonly #waitTimeoutMs: number;
  readonly #stopGraceMs: number;
  /** Resolves with the exit status once the process ended and its output was read. */
  readonly done: Promise<Deno.CommandStatus>;
  readonly name: string;

  /** Starts `program` with `args`. */
  constructor(program: string, args: string[], options: WatchedProcessOptions = {}) {
    this.name = options.name ?? [program, ...args].join(" ");
    this.#waitTimeoutMs = options.waitTimeoutMs ?? 15_000;
    this.#stopGraceMs = options.stopGraceMs ?? 10_000;
    this.#child = new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
    }).spawn();
    const pumps = [this.#pump(this.#child.stdout), this.#pump(this.#child.stderr)];
    this.done = Promise.all(pumps).then(() => this.#child.status);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    const verbose = Deno.env.get("ZTNA_TEST_VERBOSE");
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      this.#output += text;
      if (verbose) await Deno.stderr.write(new TextEncoder().encode(`[${this.name}] ${text}`));
      this.#waiters = this.#waiters.filter((w) => {
        const m = this.#output.match(w.re);
        if (m) w.resolve(m);
        return !m;
      });
    }
  }

  /** Everything the process printed so far (stdout and stderr interleaved). */
  get output(): string {
    return this.#output;
  }

  /** Process id of the program itself. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Resolves when the output matches `re`; rejects after the deadline or if the process exits first. */
  waitFor(re: RegExp, timeoutMs = this.#waitTimeoutMs): Promise<RegExpMatchArray> {
    const m = this.#output.match(re);
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
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
        if (!this.#waiters.includes(waiter)) return;
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`${this.name}: exited (${status.code}) before ${re}\n${this.#output}`));
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
  async stop(graceMs = this.#stopGraceMs): Promise<Deno.CommandStatus> {
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
