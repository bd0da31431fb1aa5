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
    log.info("Loaded {count} revoked token ids", { count: list.ids.size });
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
