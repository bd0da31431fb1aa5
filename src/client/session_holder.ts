/**
 * The client's current relay session, if any, and a way for new local connections to wait briefly
 * for one while the client is (re)connecting.
 * @module
 */
import type { PeerSession } from "../transport/dial.ts";

/** Holds at most one live session. */
export class SessionHolder {
  #current: PeerSession | undefined;
  #waiters = new Set<(s: PeerSession) => void>();

  /** The live session, if any. */
  get current(): PeerSession | undefined {
    return this.#current;
  }

  set(session: PeerSession): void {
    this.#current = session;
    for (const w of this.#waiters) w(session);
    this.#waiters.clear();
  }

  clear(session: PeerSession): void {
    if (this.#current === session) this.#current = undefined;
  }

  /** The live session, or the next one within `timeoutMs`, or undefined. */
  wait(timeoutMs: number): Promise<PeerSession | undefined> {
    if (this.#current) return Promise.resolve(this.#current);
    return new Promise((resolve) => {
      const waiter = (s: PeerSession) => {
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
