/** One peer connection's traffic counters: changed only through these methods, read by the admin view. */

/** Payload bytes both ways and flows still waiting for their OPEN or REPLY. */
export class PeerCounters {
  #fromPeer = 0;
  #toPeer = 0;
  #pendingOpens = 0;

  /** Payload bytes received from this peer and relayed on. */
  get bytesFromPeer(): number {
    return this.#fromPeer;
  }

  /** Payload bytes relayed to this peer. */
  get bytesToPeer(): number {
    return this.#toPeer;
  }

  /** Flows of this connection past their stream but not yet answered (bounded per connection). */
  get pendingOpens(): number {
    return this.#pendingOpens;
  }

  /** Counts `n` payload bytes received from this peer. */
  fromPeer(n: number): void {
    this.#fromPeer += n;
  }

  /** Counts `n` payload bytes relayed to this peer. */
  toPeer(n: number): void {
    this.#toPeer += n;
  }

  /** Counts a flow among the pending opens; the function returned ends that, once. */
  beginOpen(): () => void {
    let pending = true;
    this.#pendingOpens++;
    return () => {
      if (pending) this.#pendingOpens--;
      pending = false;
    };
  }
}
