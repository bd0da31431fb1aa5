/**
 * Every source of revoked token ids, kept in force together: the revocation file (polled, re-read
 * on SIGHUP), the store's revocations (admin API; with PostgreSQL also those made on the fleet's
 * other relays, pushed by NOTIFY and polled), and in a fleet the file's ids written to the shared
 * store. Each change updates the verifier and closes what it revokes (the relay's enforcement).
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { TokenVerifier } from "../auth/mod.ts";
import type { IntermediateConfig } from "../config/schema.ts";
import { PostgresStore, type Store } from "../store/mod.ts";
import { FileRevocationsToStore } from "./file_revocations_to_store.ts";
import type { Relay } from "./relay.ts";
import { RevocationSources, RevocationWatcher } from "./revocation_watcher.ts";

const log = getLogger(["ztna", "relay"]);

/** What the revocations work on. */
export interface RelayRevocationsDeps {
  store: Store;
  verifier: TokenVerifier;
  relay: Pick<Relay, "enforceRevocations">;
}

/** The relay's revocation sources: built idle, fed from {@link start} until {@link stop}. */
export class RelayRevocations {
  /** The union of file and store ids (the admin API adds to it). */
  readonly sources: RevocationSources;
  readonly #deps: RelayRevocationsDeps;
  readonly #pollMs: number;
  readonly #fileToStore: FileRevocationsToStore | undefined;
  readonly #watcher: RevocationWatcher | undefined;
  readonly #storeWatch = new AbortController();

  constructor(config: IntermediateConfig, deps: RelayRevocationsDeps) {
    const { store, verifier, relay } = this.#deps = deps;
    this.#pollMs = config.revocation_poll_ms;
    this.sources = new RevocationSources((ids) => {
      verifier.setRevoked(ids);
      return relay.enforceRevocations();
    });
    // In a fleet, the file's ids go into the shared store too, so every relay enforces them.
    const fileToStore = this.#fileToStore = config.revocation_file && store instanceof PostgresStore
      ? new FileRevocationsToStore(store, { retryMs: config.revocation_poll_ms })
      : undefined;
    this.#watcher = config.revocation_file
      ? new RevocationWatcher({
        path: config.revocation_file,
        pollMs: config.revocation_poll_ms,
        apply: (ids) => {
          this.sources.setFile(ids);
          fileToStore?.publish(ids);
        },
      })
      : undefined;
  }

  /** Loads the store's revocations, then watches the store and the file. */
  async start(): Promise<void> {
    const { store } = this.#deps;
    // Revocations made through the admin API survive restarts: they live in the store.
    this.sources.addStored((await store.listRevocations()).map((r) => r.tokenId));
    // A shared store (PostgreSQL) also tells of revocations made on the fleet's other relays: they
    // close this relay's sessions and direct paths as a local revocation does.
    await store.watchRevocations((ids) => {
      log.info("The store reports {count} newly revoked token ids", { count: ids.length });
      this.sources.addStored(ids);
    }, { pollMs: this.#pollMs, signal: this.#storeWatch.signal });
    await this.#watcher?.start();
  }

  /** SIGHUP: the revocation file is read again. */
  async reload(): Promise<void> {
    await this.#watcher?.reload();
  }

  /** Stops watching (file, then store) and the file's writes to the store; safe before start. */
  stop(): void {
    this.#watcher?.stop();
    this.#storeWatch.abort();
    this.#fileToStore?.stop();
  }
}
