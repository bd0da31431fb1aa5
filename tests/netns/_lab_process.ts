/**
 * A process started inside a lab namespace (`ip netns exec <ns> <cmd…>`): its output is collected
 * and searchable, so tests wait for a readiness line instead of sleeping. `ip netns exec` execs the
 * command, so `pid` and every signal reach the program itself.
 * @module
 */

/** A running command whose stdout and stderr are collected. */
export class LabProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  #output = "";
  #waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  /** Resolves with the exit status once the process ended and its output was read. */
  readonly done: Promise<Deno.CommandStatus>;
  /** Name used in error messages. */
  readonly name: string;

  /** Starts `cmd` (program first) with an optional prefix such as `["ip", "netns", "exec", ns]`. */
  constructor(cmd: string[], options: { name?: string; wrapper?: string[] } = {}) {
    const full = [...(options.wrapper ?? []), ...cmd];
    if (full.length === 0) {
      throw new RangeError(
        "Cannot spawn a lab process as 'cmd' must not be empty: current value is []",
      );
    }
    this.name = options.name ?? cmd.join(" ");
    this.#child = new Deno.Command(full[0], {
      args: full.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pumps = [this.#pump(this.#child.stdout), this.#pump(this.#child.stderr)];
    this.done = Promise.all(pumps).then(() => this.#child.status);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      this.#output += decoder.decode(chunk, { stream: true });
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

  /** Process id of the program itself (not of a wrapper that forks). */
  get pid(): number {
    return this.#child.pid;
  }

  /** Resolves when the output matches `re`; rejects after `timeoutMs` or if the process exits first. */
  waitFor(re: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
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
  async stop(graceMs = 2_000): Promise<Deno.CommandStatus> {
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
