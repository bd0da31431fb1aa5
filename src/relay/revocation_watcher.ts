/**
 * Keeps the verifier's revocation set in step with the revocation file: polled by modification
 * time, re-read on SIGHUP, and after each change live connections of revoked tokens are closed.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { parseRevocationList } from "../auth/mod.ts";

const log = getLogger(["ztna", "relay", "revocation"]);

/** Options of {@link RevocationWatcher}. */
export interface RevocationWatcherOptions {
  path: string;
  pollMs: number;
  /** Receives every new set of revoked token ids. */
  apply(ids: ReadonlySet<string>): void;
}

/** Polls one revocation file; a missing file means "nothing revoked". */
export class RevocationWatcher {
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastStamp = "";

  constructor(readonly options: RevocationWatcherOptions) {}

  /** Reads the file once now, then every `pollMs`. */
  async start(): Promise<void> {
    // Named at start: an operator who revoked into another file can see which one counts.
    log.info("Watching revocation file {path} (re-read every {pollMs} ms and on SIGHUP)", {
      path: this.options.path,
      pollMs: this.options.pollMs,
    });
    await this.reload();
    this.#timer = setInterval(() => void this.reload(false), this.options.pollMs);
  }

  /** Re-reads the file; with `force` false only when its size or mtime changed. */
  async reload(force = true): Promise<void> {
    const { path } = this.options;
    let text = "";
    let stamp = "absent";
    try {
      const st = await Deno.stat(path);
      stamp = `${st.mtime?.getTime()}:${st.size}`;
      if (!force && stamp === this.#lastStamp) return;
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        log.error("Cannot read revocation file {path}: {error}; keeping the previous list", {
          path,
          error: String(e),
        });
        return;
      }
      if (!force && stamp === this.#lastStamp) return;
    }
    this.#lastStamp = stamp;
    const list = parseRevocationList(text);
    for (const err of list.errors) {
      log.warn("Revocation file {path} line {line}: {problem}", {
        path,
        line: err.line,
        problem: err.problem,
      });
    }
    this.options.apply(list.ids);
    log.info("Loaded {count} revoked token ids from {path}", { count: list.ids.size, path });
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/**
 * The relay's whole revocation set: the revocation file's ids plus the ids revoked through the
 * admin API (kept in the store). Every change publishes the union, so neither source can
 * un-revoke the other's tokens.
 */
export class RevocationSources {
  #file: ReadonlySet<string> = new Set();
  readonly #store = new Set<string>();

  /** @param apply receives each new union; returns how many live connections it closed */
  constructor(readonly apply: (ids: ReadonlySet<string>) => number) {}

  /** Replaces the file's ids (the watcher calls this); returns connections closed. */
  setFile(ids: ReadonlySet<string>): number {
    this.#file = ids;
    return this.#publish();
  }

  /** Adds ids revoked through the store (at start, and on each API revocation). */
  addStored(ids: Iterable<string>): number {
    for (const id of ids) this.#store.add(id);
    return this.#publish();
  }

  #publish(): number {
    return this.apply(new Set([...this.#file, ...this.#store]));
  }
}
