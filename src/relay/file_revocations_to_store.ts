/**
 * A fleet's revocation file: ids a relay reads from its own `revocation_file` are also written to
 * the shared store (PostgreSQL), each once, so every relay of the fleet closes them as for an
 * admin-API revocation (NOTIFY, then their poll). A write that fails is tried again every
 * `retryMs` until it succeeds. Removing an id from the file later does not unrevoke it in the
 * store: revocations there are permanent.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Store } from "../store/mod.ts";

const log = getLogger(["ztna", "relay", "revocation"]);

/** Who the store names for these revocations. */
export const FILE_REVOKER = "system:revocation_file";

/** Publishes a revocation file's ids to the shared store. */
export class FileRevocationsToStore {
  readonly #done = new Set<string>();
  readonly #pending = new Set<string>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #writing: Promise<void> | undefined;
  #warned = false;

  constructor(
    readonly store: Pick<Store, "revoke">,
    readonly options: { retryMs: number; clock?: () => number },
  ) {}

  /** The file's current ids; those not yet in the store are written. */
  publish(ids: ReadonlySet<string>): void {
    for (const id of ids) if (!this.#done.has(id)) this.#pending.add(id);
    void this.#flush();
    this.#timer ??= setInterval(() => void this.#flush(), this.options.retryMs);
  }

  /** Resolves once the writes in flight are done. */
  async settled(): Promise<void> {
    await this.#writing;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #flush(): Promise<void> {
    this.#writing ??= this.#flushOnce().finally(() => this.#writing = undefined);
    return this.#writing;
  }

  async #flushOnce(): Promise<void> {
    const clock = this.options.clock ?? Date.now;
    for (const tokenId of [...this.#pending]) {
      try {
        const result = await this.store.revoke({
          tokenId,
          revokedAt: clock(),
          revokedBy: FILE_REVOKER,
          reason: "in a relay's revocation_file",
        });
        this.#pending.delete(tokenId);
        this.#done.add(tokenId);
        if (!result.alreadyRevoked) {
          log.info("Revoked {tokenId} across the fleet (from the revocation file)", { tokenId });
        }
        this.#warned = false;
      } catch (error) {
        if (!this.#warned) {
          log.warn(
            "Cannot write revocation-file ids to the shared store: {error}; retrying every " +
              "{retryMs} ms (this relay enforces them already)",
            { error: String(error), retryMs: this.options.retryMs },
          );
        }
        this.#warned = true;
        return;
      }
    }
  }
}
