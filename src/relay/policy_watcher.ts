/**
 * Keeps the relay's access policy in step with `policy_file`: read at start (a bad file stops the
 * start), then polled by modification time and re-read on SIGHUP. A reload that fails — unreadable,
 * invalid, or its own tests fail — is logged line by line and the policy in force stays; a good one
 * is put in force and what it no longer allows is ended at once.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { ConfigError } from "../config/mod.ts";
import { loadPolicy, type Policy } from "../policy/mod.ts";

const log = getLogger(["ztna", "relay", "policy"]);

/** Options of {@link PolicyWatcher}. */
export interface PolicyWatcherOptions {
  path: string;
  pollMs: number;
  /** Puts a policy in force; returns how many live flows and direct paths it ended. */
  apply(policy: Policy): { flows: number; paths: number };
  /** Milliseconds since the epoch, for the file's tests. @default {Date.now} */
  clock?: () => number;
}

/** Turns a refused load's lines (`<path>: <key>: <problem>`) into one ConfigError for start-up. */
function startError(path: string, errors: readonly string[]): ConfigError {
  const strip = (line: string) => line.startsWith(`${path}: `) ? line.slice(path.length + 2) : line;
  const [first, ...more] = errors.map((line) =>
    new ConfigError({ file: path, problem: strip(line) })
  );
  return new ConfigError({
    file: path,
    problem: first?.problem ?? "invalid policy",
    more,
    hint: `check it offline with: ztna admin policy test --policy ${path}`,
  });
}

/** Polls one policy file. */
export class PolicyWatcher {
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastStamp = "";
  #reading: Promise<boolean> | undefined;

  constructor(readonly options: PolicyWatcherOptions) {}

  /**
   * Loads the file now, then checks it every `pollMs`.
   * @throws {ConfigError} when the file cannot be read, is invalid or its tests fail: a relay
   *   must not start with less policy than its operator wrote
   */
  async start(): Promise<void> {
    const { path, pollMs } = this.options;
    const text = await Deno.readTextFile(path).catch((error) => {
      throw new ConfigError({ file: path, problem: `cannot read the policy file (${error})` });
    });
    const stamp = await this.#stamp();
    const loaded = loadPolicy(text, path, this.#now());
    if (!loaded.ok) throw startError(path, loaded.errors);
    this.#lastStamp = stamp;
    this.options.apply(loaded.policy);
    log.info(
      "Loaded policy {path}: {allow} allow and {deny} deny rules, {tests} tests passed; " +
        "re-read every {pollMs} ms and on SIGHUP",
      { path, ...this.#counts(loaded.policy), tests: loaded.tests, pollMs },
    );
    this.#timer = setInterval(() => void this.reload(false), pollMs);
  }

  #now(): number {
    return (this.options.clock ?? Date.now)();
  }

  #counts(policy: Policy) {
    return { allow: policy.file.allow.length, deny: policy.file.deny.length };
  }

  async #stamp(): Promise<string> {
    const st = await Deno.stat(this.options.path);
    return `${st.mtime?.getTime()}:${st.size}:${st.ino ?? ""}`;
  }

  /**
   * Re-reads the file; with `force` false only when its size, mtime or inode changed. Resolves
   * true when a new policy is in force. Never throws.
   */
  reload(force = true): Promise<boolean> {
    // One read at a time: a poll and a SIGHUP at once must not apply an older text last.
    this.#reading = (this.#reading ?? Promise.resolve(false)).then(() => this.#reload(force));
    return this.#reading;
  }

  async #reload(force: boolean): Promise<boolean> {
    const { path } = this.options;
    let text: string;
    let stamp: string;
    try {
      stamp = await this.#stamp();
      if (!force && stamp === this.#lastStamp) return false;
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (!force && this.#lastStamp === "unreadable") return false;
      this.#lastStamp = "unreadable";
      log.error("Cannot read policy file {path}: {error}; keeping the policy in force", {
        path,
        error: String(error),
      });
      return false;
    }
    this.#lastStamp = stamp;
    const loaded = loadPolicy(text, path, this.#now());
    if (!loaded.ok) {
      for (const line of loaded.errors) log.error("Policy refused: {problem}", { problem: line });
      log.error("Refused the new policy {path} ({count} problems); keeping the policy in force", {
        path,
        count: loaded.errors.length,
      });
      return false;
    }
    const ended = this.options.apply(loaded.policy);
    log.info(
      "Loaded policy {path}: {allow} allow and {deny} deny rules, {tests} tests passed; " +
        "ended {flows} flows and {paths} direct paths it no longer allows",
      { path, ...this.#counts(loaded.policy), tests: loaded.tests, ...ended },
    );
    return true;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
