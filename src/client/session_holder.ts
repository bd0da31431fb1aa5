import { type RelaySession } from "../transport/mod.ts";
/**
 * The client's current relay session, if any, and a way for new local connections to wait briefly
 * for one while the client is (re)connecting.
 * @module
 */

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

  /** The live session, or the next one within `timeoutMs`, or undefined. */
  wait(timeoutMs: number): Promise<RelaySession | undefined> {
    if (this.#current) return Promise.resolve(this.#current);
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
