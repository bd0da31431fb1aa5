/**
 * The dialer's end of a TLS-over-TCP link (client or connector): the MAIN connection, then one TLS
 * connection per flow — STREAM connections a client opens (a few dialed ahead as spares), and the
 * idle OFFER connections a connector keeps for the relay to hand out, each replaced once used. Every connection
 * verifies the relay's certificate exactly as QUIC does (C1). Design: docs/PROTOCOL.md, "TCP
 * transport".
 * @module
 */
import {
  decodeKey,
  decodeWant,
  encodePreamble,
  LINK_KEY_BYTES,
  ZtnaError,
} from "../protocol/mod.ts";
import { deadline, TIMED_OUT } from "../runtime/deadline.ts";
import { LinkMain } from "./link_main.ts";
import type { ByteStream } from "./peer_link.ts";
import { RefillPause } from "./refill_pause.ts";
import { openTls, type TcpLinkOptions, writeAll } from "./tls_open.ts";
import { connByteStream, readFirst } from "./tls_stream.ts";

export { openTls, type TcpLinkOptions } from "./tls_open.ts";

/** More idle offers than this are never kept, whatever the relay WANTs (bounds our sockets). */
export const MAX_OFFERS = 64;

/**
 * Dials the MAIN connection and waits for the relay's KEY.
 * @throws from the TCP connect or TLS (certificate errors say so), ZtnaError on a bad answer
 */
export async function dialTcpLink(options: TcpLinkOptions): Promise<TcpLink> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const tls = await openTls(options, signal);
  try {
    await writeAll(tls, encodePreamble({ kind: "main" }));
    const link = new TcpLink(tls, options);
    // The relay may refuse the link instead (a rate limit, draining): its CLOSE comes before KEY.
    const ended = link.closed.then((i) => i, () => ({ closeCode: 0, reason: "lost" }));
    const first = await deadline(
      Promise.race([link.keyed.then(() => undefined), ended]),
      timeoutMs,
      options.signal,
    );
    if (first === TIMED_OUT) {
      link.close({ closeCode: 0, reason: "abandoned" });
      throw new ZtnaError("protocol_error", "the relay sent no link key in time");
    }
    if (first !== undefined) throw new LinkRefused(first.closeCode, first.reason);
    return link;
  } catch (e) {
    try {
      tls.close();
    } catch { /* closed */ }
    throw e;
  }
}

/** The relay closed a MAIN connection before its KEY: `closeCode` says why (errors.ts). */
export class LinkRefused extends Error {
  override readonly name = "LinkRefused";
  constructor(readonly closeCode: number, reason: string) {
    super(`The relay closed the TCP link before its key: ${reason || closeCode}`);
  }
}

/** A STREAM connection dialed ahead, and the read that watches it while it waits. */
interface Spare {
  tls: Deno.TlsConn;
  firstRead: Promise<Uint8Array | null>;
  taken: boolean;
}

/**
 * The dialer's link.
 *
 * Why spares: on a fresh TLS 1.3 connection the relay's first answer (REPLY) follows its session
 * tickets, which our kernel acknowledges only with its delayed ACK; the relay's accepted
 * connections keep Nagle's algorithm on (Deno offers no TCP_NODELAY there), so REPLY waits ~40 ms
 * for that ACK. A spare has long been acknowledged when a flow takes it (docs/PROTOCOL.md).
 */
export class TcpLink extends LinkMain {
  readonly #options: TcpLinkOptions;
  #key: Uint8Array | undefined;
  #credit = 0;
  #live = 0;
  readonly #keyed = Promise.withResolvers<void>();
  #controlTaken = false;
  readonly #creditWaiters: (() => void)[] = [];
  /** Every flow connection of this link: closed with it, as QUIC streams die with their connection. */
  readonly #conns = new Set<Deno.Conn>();
  #idleOffers = 0;
  #dialingOffers = 0;
  #wanted = 0;
  readonly #offerPause = new RefillPause();
  #retired = false;
  /** Idle offers, so a retired link can close them at once. */
  readonly #idle = new Set<Deno.Conn>();
  readonly #spares: Spare[] = [];
  #dialingSpares = 0;
  readonly #sparePause = new RefillPause();
  #welcomed = false;

  constructor(tls: Deno.TlsConn, options: TcpLinkOptions) {
    super(tls, {
      keepAliveMs: options.keepAliveMs,
      idleTimeoutMs: options.idleTimeoutMs,
      remoteAddr: tls.remoteAddr,
    });
    this.#options = options;
  }

  /** Resolves when the relay's KEY arrived. */
  get keyed(): Promise<void> {
    return this.#keyed.promise;
  }

  /**
   * The link key the relay gave this link (a bearer secret for its life): for tests that act as a
   * peer ignoring the stream credit. Never logged.
   */
  get linkKey(): Uint8Array | undefined {
    return this.#key;
  }

  /** Idle OFFER connections now (for tests and logs). */
  get idleOffers(): number {
    return this.#idleOffers;
  }

  protected onFrame(type: "key" | "want" | "retire", payload: Uint8Array): void {
    if (type === "retire") throw new ZtnaError("protocol_error", "RETIRE from the relay");
    if (type === "key") {
      if (this.#key) throw new ZtnaError("protocol_error", "a second KEY");
      const { key, streamCredit } = decodeKey(payload);
      this.#key = key;
      this.#credit = streamCredit;
      this.#keyed.resolve();
      return;
    }
    if ((this.#options.offers ?? 0) === 0 || this.#retired) return; // no offers wanted
    this.#wanted = Math.min(MAX_OFFERS, this.#wanted + decodeWant(payload));
    this.#fillOffers();
  }

  protected onClosed(): void {
    this.#offerPause.clear();
    this.#sparePause.clear();
    this.#spares.length = 0;
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    this.#conns.clear();
    for (const w of this.#creditWaiters.splice(0)) w();
  }

  /** The first call returns the control stream; later ones open a STREAM connection. */
  async createBidirectionalStream(
    options: { waitUntilAvailable?: boolean } = {},
  ): Promise<ByteStream> {
    if (!this.#controlTaken) {
      this.#controlTaken = true;
      return this.control;
    }
    if (this.isDetached) throw new Deno.errors.NotConnected("link closed or retired");
    while (true) {
      const spare = this.#spares.shift();
      if (spare) {
        spare.taken = true;
        this.#fillSpares();
        return connByteStream(spare.tls, {
          firstRead: spare.firstRead,
          onClose: () => this.#forget(spare.tls, true),
        });
      }
      if (this.#live < this.#credit) break;
      // Like QUIC's stream credit: full is not gone (the client's pool then dials another link).
      if (!options.waitUntilAvailable) throw new RangeError("no stream credit left");
      // Woken by a freed stream, or by a spare that was being dialed when the credit ran out.
      await new Promise<void>((r) => this.#creditWaiters.push(r));
      if (this.isClosed) throw new Deno.errors.NotConnected("link closed");
    }
    this.#live++;
    let tls: Deno.TlsConn;
    try {
      tls = await this.#connect("stream");
    } catch (e) {
      this.#freeCredit();
      throw e;
    }
    this.#fillSpares();
    return connByteStream(tls, { onClose: () => this.#forget(tls, true) });
  }

  /** The relay welcomed this link's HELLO: offers and spares may be dialed from now on. */
  welcomed(): void {
    this.#welcomed = true;
    this.#fillOffers();
    this.#fillSpares();
  }

  /** Dials spares up to the configured number, within the stream credit (they hold a stream). */
  #fillSpares(): void {
    const want = this.#options.spares ?? 0;
    if (want === 0 || !this.#welcomed || this.#retired || this.isDetached || !this.#key) return;
    if (this.#sparePause.waiting) return;
    while (this.#spares.length + this.#dialingSpares < want && this.#live < this.#credit) {
      this.#live++;
      this.#dialingSpares++;
      void this.#spare();
    }
  }

  /** One spare: dialed, then watched until a flow takes it or the relay drops it. */
  async #spare(): Promise<void> {
    let tls: Deno.TlsConn;
    try {
      tls = await this.#connect("stream");
    } catch {
      this.#dialingSpares--;
      this.#spareFailed(); // first: the freed stream must not be re-dialed before the pause
      return this.#freeCredit();
    }
    this.#dialingSpares--;
    if (this.isDetached) return this.#forget(tls, true);
    const spare: Spare = { tls, firstRead: readFirst(tls, 16 * 1024), taken: false };
    this.#spares.push(spare);
    this.#sparePause.succeeded();
    this.#creditWaiters.shift()?.();
    // The relay writes nothing before a flow's OPEN: an idle spare that reads is gone (or broken).
    await spare.firstRead.catch(() => null);
    if (spare.taken) return;
    const i = this.#spares.indexOf(spare);
    if (i >= 0) this.#spares.splice(i, 1);
    this.#spareFailed();
    this.#forget(tls, true);
  }

  /** A spare that could not be dialed or died idle is replaced after a growing pause. */
  #spareFailed(): void {
    if (!this.isDetached) this.#sparePause.failed(() => this.#fillSpares());
  }

  async #connect(kind: "stream" | "offer"): Promise<Deno.TlsConn> {
    const tls = await openTls(this.#options, this.#options.signal);
    if (this.isClosed) {
      tls.close();
      throw new Deno.errors.NotConnected("link closed");
    }
    this.#conns.add(tls);
    try {
      await writeAll(
        tls,
        encodePreamble({ kind, key: this.#key ?? new Uint8Array(LINK_KEY_BYTES) }),
      );
    } catch (e) {
      this.#forget(tls, false);
      throw e;
    }
    return tls;
  }

  #forget(conn: Deno.Conn, credit: boolean): void {
    if (!this.#conns.delete(conn)) return;
    this.#idle.delete(conn);
    try {
      conn.close();
    } catch { /* closed */ }
    if (credit) this.#freeCredit();
    if (this.#retired && this.#conns.size === 0) this.close({ closeCode: 0, reason: "moved" });
  }

  /**
   * Takes this link out of use after its peer moved to another link (QUIC): the roles see it end
   * now (`closed` resolves with code 0, "moved"); the relay hears RETIRE and sends it no new flows;
   * streams still running go on, and the link closes when the last one ends.
   */
  retire(): void {
    if (this.#retired || this.isDetached) return;
    this.#retired = true;
    this.#offerPause.clear();
    this.#sparePause.clear();
    void this.sendFrame("retire").catch(() => {});
    this.detach({ closeCode: 0, reason: "moved" });
    for (const c of [...this.#idle]) this.#forget(c, false);
    for (const spare of this.#spares.splice(0)) this.#forget(spare.tls, true);
    if (this.#conns.size === 0) this.close({ closeCode: 0, reason: "moved" });
  }

  /** A stream ended: a waiting flow gets it, else it goes back to the spares (if they are short). */
  #freeCredit(): void {
    this.#live--;
    const waiter = this.#creditWaiters.shift();
    if (waiter) waiter();
    else this.#fillSpares();
  }

  /** Dials offers until the configured number (plus what the relay WANTs) is idle or on its way. */
  #fillOffers(): void {
    const base = this.#options.offers ?? 0;
    if (base === 0 || !this.#welcomed || this.isDetached || !this.#key) return;
    if (this.#offerPause.waiting) return;
    while (
      this.#idleOffers + this.#dialingOffers < Math.min(MAX_OFFERS, base + this.#wanted)
    ) {
      if (this.#wanted > 0) this.#wanted--;
      this.#dialingOffers++;
      void this.#offer();
    }
  }

  /** One idle offer: dial, wait for the relay's first bytes, then hand it to the roles. */
  async #offer(): Promise<void> {
    let tls: Deno.TlsConn;
    try {
      tls = await this.#connect("offer");
    } catch {
      this.#dialingOffers--;
      return this.#offerFailed();
    }
    this.#dialingOffers--;
    this.#idleOffers++;
    this.#idle.add(tls);
    const first = await readFirst(tls, 64 * 1024).catch(() => null);
    this.#idleOffers--;
    this.#idle.delete(tls);
    if (first === null || this.#retired) {
      this.#forget(tls, false);
      return this.#offerFailed();
    }
    this.#offerPause.succeeded();
    this.pushIncoming(
      connByteStream(tls, { prefix: first, onClose: () => this.#forget(tls, false) }),
    );
    this.#fillOffers();
  }

  /** An offer that died idle or could not be dialed is replaced after a growing pause. */
  #offerFailed(): void {
    if (!this.isDetached) this.#offerPause.failed(() => this.#fillOffers());
  }
}
