/**
 * The client's current relay session, if any, and a way for new local connections to wait briefly
 * for one while the client is (re)connecting.
 * @module
 */
import type { PooledSession as RelaySession } from "./relay_pool.ts";

/** Holds at most one live session. */
export class SessionHolder {
  #current: RelaySession | undefined;
  #waiters = new Set<(s: RelaySession) => void>();

  /** The live session, if any. */
  get current(): RelaySession | undefined {
    return this.#current;
  }

  set(session: RelaySession): void {
    this.#current = session;
    for (const w of this.#waiters) w(session);
    this.#waiters.clear();
  }

  clear(session: RelaySession): void {
    if (this.#current === session) this.#current = undefined;
  }

  /**
   * A session other than `dead` (which failed a flow before the client noticed it was lost): the
   * current one if it already differs, else the next within `timeoutMs`, else undefined.
   */
  async next(dead: RelaySession, timeoutMs: number): Promise<RelaySession | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const left = deadline - Date.now();
      if (this.#current && this.#current !== dead) return this.#current;
      if (left <= 0) return undefined;
      // The dead session is still current until its connection's close is seen: wait for a set().
      const s = await this.#nextSet(left);
      if (s && s !== dead) return s;
    }
  }

  /** The live session, or the next one within `timeoutMs`, or undefined. */
  wait(timeoutMs: number): Promise<RelaySession | undefined> {
    if (this.#current) return Promise.resolve(this.#current);
    return this.#nextSet(timeoutMs);
  }

  /** The session of the next set() within `timeoutMs`, or undefined. */
  #nextSet(timeoutMs: number): Promise<RelaySession | undefined> {
    return new Promise((resolve) => {
      const waiter = (s: RelaySession) => {
        clearTimeout(timer);
        resolve(s);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        resolve(undefined);
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }
}
