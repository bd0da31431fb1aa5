/**
 * A process the bench starts (backend, baselines, load generators, sshd, ssh, stunnel, ztna with
 * profiling flags): its output is collected and searchable so readiness is a line, never a sleep,
 * and it is always stopped with SIGTERM, then SIGKILL. `denoScript()` starts one of our scripts with
 * `deno run`; ztna processes without extra flags come from tests/_helpers (`Fixture`).
 * @module
 */
import { REPO_ROOT } from "../tests/_helpers/ztna_process.ts";

/** Options of {@link HelperProcess}. */
export interface HelperProcessOptions {
  /** Name used in error messages. */
  name: string;
  /** Environment added to the bench's own. @default {{ NO_COLOR: "1" }} */
  env?: Record<string, string>;
  /** "piped" lets {@link HelperProcess.sendLine} talk to the process. @default {"null"} */
  stdin?: "null" | "piped";
  /** Working directory. @default {REPO_ROOT} */
  cwd?: string;
}

/** How much of a helper's output is kept for error messages; helpers print a few lines only. */
const MAX_OUTPUT_CHARS = 64 * 1024;

/** A running process whose output is collected and searchable. */
export class HelperProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;
  readonly name: string;
  readonly done: Promise<Deno.CommandStatus>;
  /** Sum of everything printed so far, in characters (the kept output is only the tail). */
  #printed = 0;
  #output = "";
  #changed: () => void = () => {};

  /** Starts `command args`. */
  constructor(command: string, args: string[], options: HelperProcessOptions) {
    this.name = options.name;
    this.#child = new Deno.Command(command, {
      args,
      stdin: options.stdin ?? "null",
      stdout: "piped",
      stderr: "piped",
      cwd: options.cwd ?? REPO_ROOT,
      env: { NO_COLOR: "1", ...options.env },
    }).spawn();
    this.#stdin = options.stdin === "piped" ? this.#child.stdin.getWriter() : undefined;
    const pumps = [this.#pump(this.#child.stdout), this.#pump(this.#child.stderr)];
    this.done = Promise.all(pumps).then(() => this.#child.status);
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      this.#printed += text.length;
      this.#output = (this.#output + text).slice(-MAX_OUTPUT_CHARS);
      this.#changed();
    }
  }

  /** Process id (for /proc readings). */
  get pid(): number {
    return this.#child.pid;
  }

  /** Everything the process printed so far (stdout and stderr interleaved, last 64 KiB). */
  get output(): string {
    return this.#output;
  }

  /**
   * Resolves with the first match of `re` in the output printed after character `from` (a value of
   * {@link mark}); the default searches the whole kept output.
   * @throws {Error} after `timeoutMs`, or when the process exits first
   */
  async waitFor(re: RegExp, timeoutMs = 15_000, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.done.then(() => {
      exited = true;
      this.#changed();
    });
    while (true) {
      const skip = Math.max(0, from - (this.#printed - this.#output.length));
      const m = this.#output.slice(skip).match(re);
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

  /** A position in the output: pass it to {@link waitFor} to match only what is printed later. */
  mark(): number {
    return this.#printed;
  }

  /**
   * Writes one line to the process's stdin (needs `stdin: "piped"`).
   * @throws {TypeError} when stdin is not piped
   */
  async sendLine(line: string): Promise<void> {
    if (!this.#stdin) throw new TypeError(`Cannot write to ${this.name}: its stdin is not piped`);
    await this.#stdin.write(new TextEncoder().encode(`${line}\n`));
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
    await this.#stdin?.close().catch(() => {});
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

/** Options of {@link denoScript}. */
export interface DenoScriptOptions extends HelperProcessOptions {
  /** Flags before the script: permissions, `-P=ztna`, `--cpu-prof`. @default {["--allow-net"]} */
  flags?: string[];
  /** Command prefix that execs deno, e.g. `ip netns exec NAME` (bench/netns.ts). @default {[]} */
  wrapper?: string[];
}

/** Starts `deno run --config deno.json <flags> <script> <args>` from the repository root. */
export function denoScript(
  script: string,
  args: string[],
  options: DenoScriptOptions,
): HelperProcess {
  const flags = options.flags ?? ["--allow-net"];
  const argv = [
    Deno.execPath(),
    "run",
    "--config",
    `${REPO_ROOT}/deno.json`,
    ...flags,
    `${REPO_ROOT}/${script}`,
    ...args,
  ];
  const [command, ...rest] = [...(options.wrapper ?? []), ...argv];
  return new HelperProcess(command, rest, options);
}
