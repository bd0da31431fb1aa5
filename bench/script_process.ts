/**
 * Spawns a bench helper script (backend, baseline pipe) as its own Deno process and waits for a
 * readiness line on its output instead of sleeping. ztna itself is started by tests/_helpers
 * (`ZtnaProcess`, `Fixture`), which always runs main.ts with the shipped permission set.
 * @module
 */
import { REPO_ROOT } from "../tests/_helpers/ztna_process.ts";

/** Options of {@link ScriptProcess}. */
export interface ScriptProcessOptions {
  /** Name used in error messages. */
  name: string;
  /** Permission flags for the script. @default {["--allow-net"]} */
  permissions?: string[];
}

/** How much of a helper's output is kept for error messages; helpers print a few lines only. */
const MAX_OUTPUT_CHARS = 64 * 1024;

/** A running helper script whose output is collected and searchable. */
export class ScriptProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly name: string;
  readonly done: Promise<Deno.CommandStatus>;
  #output = "";
  #changed: () => void = () => {};

  /** Starts `deno run <permissions> --config deno.json <script> <args>` from the repository root. */
  constructor(script: string, args: string[], options: ScriptProcessOptions) {
    this.name = options.name;
    const permissions = options.permissions ?? ["--allow-net"];
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        `${REPO_ROOT}/deno.json`,
        ...permissions,
        `${REPO_ROOT}/${script}`,
        ...args,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1" },
    }).spawn();
    const pumps = [this.#pump(this.#child.stdout), this.#pump(this.#child.stderr)];
    this.done = Promise.all(pumps).then(() => this.#child.status);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      this.#output = (this.#output + decoder.decode(chunk, { stream: true })).slice(
        -MAX_OUTPUT_CHARS,
      );
      this.#changed();
    }
  }

  /** Everything the process printed so far (stdout and stderr interleaved, last 64 KiB). */
  get output(): string {
    return this.#output;
  }

  /**
   * Resolves with the first match of `re` in the output.
   * @throws {Error} after `timeoutMs`, or when the process exits first
   */
  async waitFor(re: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.done.then(() => {
      exited = true;
      this.#changed();
    });
    while (true) {
      const m = this.#output.match(re);
      if (m) return m;
      if (exited) throw new Error(`${this.name}: exited before printing ${re}\n${this.#output}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: timed out waiting for ${re}\n${this.#output}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#changed = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#changed = () => {};
    }
  }

  /** Sends a signal; ignores a process that is already gone. */
  kill(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch (e) {
      if (!(e instanceof TypeError)) throw e;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit status. */
  async stop(graceMs = 5_000): Promise<Deno.CommandStatus> {
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
