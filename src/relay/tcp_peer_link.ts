/**
 * The relay's end of a TLS-over-TCP link: its MAIN connection (which the relay answers with a KEY
 * frame: the link key and the stream credit), the client's STREAM connections handed over as
 * incoming streams, and the connector's idle OFFER connections, one of which each
 * `createBidirectionalStream()` takes (asking for more with WANT when none is idle). Every
 * connection of the link closes with it, as QUIC streams die with their connection.
 * @module
 */
import {
  encodeKey,
  encodeWant,
  LINK_KEY_BYTES,
  MAX_STREAM_HEADER,
  ZtnaError,
} from "../protocol/mod.ts";
import {
  type ByteStream,
  connByteStream,
  LinkMain,
  type LinkMainOptions,
  readFirst,
  type StreamConn,
} from "../transport/mod.ts";

/** What a relay link is told besides its MAIN connection. */
export interface RelayTcpLinkOptions extends LinkMainOptions {
  /** Streams the peer may open at once (`max_streams_per_connection` less the control stream). */
  streamCredit: number;
  /** Idle offers kept at most; more are closed at once. */
  maxOffers: number;
  /** How long `createBidirectionalStream()` waits for an offer when none is idle. */
  offerWaitMs: number;
}

interface Offer {
  conn: StreamConn;
  /** The read watching the idle offer: it ends when the connector drops it, or carries its bytes. */
  firstRead: Promise<Uint8Array | null>;
}

/** One peer's link at the relay. */
export class RelayTcpLink extends LinkMain {
  /** The link key: STREAM and OFFER connections present it (a bearer secret for this link's life). */
  readonly key: Uint8Array = crypto.getRandomValues(new Uint8Array(LINK_KEY_BYTES));
  readonly #options: RelayTcpLinkOptions;
  readonly #offers: Offer[] = [];
  readonly #waiting: ((o: Offer | undefined) => void)[] = [];
  readonly #conns = new Set<StreamConn>();
  /** STREAM connections live now (the QUIC listener's stream credit, enforced). */
  liveStreams = 0;

  constructor(conn: StreamConn, options: RelayTcpLinkOptions) {
    super(conn, options);
    this.#options = options;
    void this.sendFrame("key", encodeKey(this.key, options.streamCredit)).catch(() => {});
  }

  /** True when `key` is this link's key (constant time in the key's bytes). */
  matches(key: Uint8Array): boolean {
    if (key.byteLength !== this.key.byteLength) return false;
    let diff = 0;
    for (let i = 0; i < key.byteLength; i++) diff |= key[i] ^ this.key[i];
    return diff === 0;
  }

  protected override onControlOpened(): void {
    this.pushIncoming(this.control);
  }

  protected onFrame(type: "key" | "want" | "retire"): void {
    // KEY and WANT travel relay → dialer only.
    if (type !== "retire") throw new ZtnaError("protocol_error", "KEY or WANT from the dialer");
    this.#retired = true;
    for (const w of this.#waiting.splice(0)) w(undefined);
    for (const o of this.#offers.splice(0)) {
      this.#conns.delete(o.conn);
      try {
        o.conn.close();
      } catch { /* closed */ }
    }
  }

  /** True once the dialer moved to another link: no new flows here, running ones go on. */
  get retired(): boolean {
    return this.#retired;
  }

  #retired = false;

  protected onClosed(): void {
    for (const w of this.#waiting.splice(0)) w(undefined);
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    this.#conns.clear();
    this.#offers.length = 0;
  }

  /**
   * A client's STREAM connection: an incoming stream of this link once it speaks. A client keeps
   * spare ones dialed ahead (tcp_link.ts) so that a flow's REPLY never waits behind the TLS
   * session tickets of a fresh connection; until its first bytes it is parked here, holding one of
   * the link's streams, with no header deadline (it is authenticated by the link key and closes
   * with the link). Over the link's stream limit it is not parked: the session refuses it at once.
   */
  acceptStream(conn: StreamConn, prefix: Uint8Array): void {
    this.#conns.add(conn);
    this.liveStreams++;
    const onClose = () => {
      this.liveStreams--;
      this.#conns.delete(conn);
    };
    if (prefix.byteLength > 0 || this.liveStreams > this.#options.streamCredit + 1) {
      return this.pushIncoming(connByteStream(conn, { prefix, onClose }));
    }
    this.#parked++;
    readFirst(conn, MAX_STREAM_HEADER).catch(() => null).then((first) => {
      this.#parked--;
      if (first !== null && !this.isClosed) {
        return this.pushIncoming(connByteStream(conn, { prefix: first, onClose }));
      }
      // A spare the client dropped before it spoke: not a flow, nothing to count.
      onClose();
      try {
        conn.close();
      } catch { /* closed */ }
    });
  }

  #parked = 0;

  /** STREAM connections that have not spoken yet (spares). */
  get parkedStreams(): number {
    return this.#parked;
  }

  /** A connector's idle OFFER; false (and closed) when the link holds enough already. */
  addOffer(conn: StreamConn, prefix: Uint8Array): boolean {
    if (this.isClosed || this.#retired || this.#offers.length >= this.#options.maxOffers) {
      conn.close();
      return false;
    }
    const offer: Offer = {
      conn,
      firstRead: prefix.byteLength > 0 ? Promise.resolve(prefix) : readFirst(conn, 64 * 1024),
    };
    this.#conns.add(conn);
    // An idle offer that ends (the connector dropped it) or speaks first leaves the pool.
    offer.firstRead.then((b) => b, () => null).then((b) => {
      const i = this.#offers.indexOf(offer);
      if (i < 0) return;
      this.#offers.splice(i, 1);
      // Ended, or bytes before any FLOW (not a flow): either way it is closed.
      void b;
      this.#conns.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
    });
    const waiter = this.#waiting.shift();
    if (waiter) waiter(offer);
    else this.#offers.push(offer);
    return true;
  }

  /** Idle offers now (admin view, tests). */
  get idleOffers(): number {
    return this.#offers.length;
  }

  /**
   * Takes an idle offer for a flow toward this connector; with none idle, asks for more (WANT)
   * and waits up to `offerWaitMs`.
   * @throws {RangeError} when no offer came in time (full, not gone: the flow tries another member)
   */
  async createBidirectionalStream(): Promise<ByteStream> {
    if (this.isClosed) throw new Deno.errors.NotConnected("link closed");
    // Not a RangeError: a retired connector link leaves every pool at once (member_open.ts).
    if (this.#retired) throw new Deno.errors.NotConnected("link retired: its peer moved");
    let offer = this.#offers.shift();
    if (this.#offers.length === 0) {
      // Keep ahead: the connector replaces a used offer by itself; a burst needs more at once.
      void this.sendFrame("want", encodeWant(offer ? 1 : 2)).catch(() => {});
    }
    if (!offer) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let resolveWait!: (o: Offer | undefined) => void;
      offer = await new Promise<Offer | undefined>((resolve) => {
        resolveWait = resolve;
        this.#waiting.push(resolve);
        timer = setTimeout(() => resolve(undefined), this.#options.offerWaitMs);
      }).finally(() => clearTimeout(timer));
      const i = this.#waiting.indexOf(resolveWait);
      if (i >= 0) this.#waiting.splice(i, 1);
      if (!offer) {
        if (this.isClosed || this.#retired) throw new Deno.errors.NotConnected("link closed");
        throw new RangeError("no idle offer from the connector in time");
      }
    }
    const { conn } = offer;
    return connByteStream(conn, {
      firstRead: offer.firstRead,
      onClose: () => this.#conns.delete(conn),
    });
  }
}
