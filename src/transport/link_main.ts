/**
 * The MAIN connection of a TLS-over-TCP link, shared by both ends: its frames (link_frames.ts) carry
 * the control stream, datagrams, the close code, keep-alives, and the relay's KEY and WANT. The
 * roles' streams are other TLS connections (tcp_link.ts at the dialer, relay/tcp_peer_link.ts at the
 * relay); subclasses say where those come from. Idle timeout and keep-alive follow the settings QUIC
 * uses, so a dead peer is noticed as fast on either transport.
 * @module
 */
import {
  CONTROL_CHUNK,
  decodeClose,
  decodeLinkFrame,
  encodeClose,
  encodeLinkFrame,
  ERRORS,
  type LinkFrameType,
  TCP_MAX_DATAGRAM,
  ZtnaError,
} from "../protocol/mod.ts";
import type { ByteStream, LinkCloseInfo, PeerLink } from "./peer_link.ts";
import type { StreamConn } from "./tls_stream.ts";

/** Datagrams received and not yet read before new ones are dropped (H1: bounded). */
export const LINK_DATAGRAM_INBOX = 1_024;

/** Control-stream bytes buffered toward a slow reader before the MAIN connection stops reading. */
const CONTROL_INBOX_BYTES = 256 * 1024;

/** Options of a MAIN connection. */
export interface LinkMainOptions {
  /** Send a PING this often (0: never; the relay only answers). */
  keepAliveMs: number;
  /** Close the link when nothing arrived for this long. */
  idleTimeoutMs: number;
  /** The other end's address. */
  remoteAddr: Deno.NetAddr;
  /** Bytes already read after the preamble. */
  prefix?: Uint8Array;
  /** Milliseconds since the epoch. @default {Date.now} */
  clock?: () => number;
  /** Told when the peer sent a malformed frame (the link then closes with that code). */
  onProtocolError?: (code: "protocol_error" | "frame_too_large") => void;
}

/** A MAIN connection as a {@link PeerLink}, less its streams. */
export abstract class LinkMain implements PeerLink {
  readonly transport = "tcp" as const;
  readonly maxDatagramSize = TCP_MAX_DATAGRAM;
  readonly remoteAddr: Deno.NetAddr;
  readonly closed: Promise<LinkCloseInfo>;
  /** Datagrams dropped because the reader fell behind. */
  droppedDatagrams = 0;
  readonly #conn: StreamConn;
  readonly #options: LinkMainOptions;
  readonly #clock: () => number;
  #settle!: { resolve: (i: LinkCloseInfo) => void; reject: (e: Error) => void };
  #isClosed = false;
  #writing: Promise<void> = Promise.resolve();
  #lastHeard: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #incoming!: ReadableStreamDefaultController<ByteStream>;
  readonly incomingBidirectionalStreams: ReadableStream<ByteStream>;
  #controlIn!: ReadableStreamDefaultController<Uint8Array>;
  #controlPulled: PromiseWithResolvers<void> | undefined;
  /** The control stream: the dialer's first created stream, the relay's first incoming one. */
  protected readonly control: ByteStream;
  #controlSeen = false;
  #detached = false;
  readonly #datagrams: Uint8Array[] = [];
  #datagramWaiter: PromiseWithResolvers<void> | undefined;

  constructor(conn: StreamConn, options: LinkMainOptions) {
    this.#conn = conn;
    this.#options = options;
    this.remoteAddr = options.remoteAddr;
    this.#clock = options.clock ?? Date.now;
    this.#lastHeard = this.#clock();
    this.closed = new Promise((resolve, reject) => this.#settle = { resolve, reject });
    this.closed.catch(() => {});
    this.incomingBidirectionalStreams = new ReadableStream<ByteStream>({
      start: (c) => {
        this.#incoming = c;
      },
    });
    this.control = this.#controlStream();
    const tick = Math.max(50, Math.min(options.keepAliveMs || Infinity, options.idleTimeoutMs / 4));
    this.#timer = setInterval(() => this.#onTick(), tick);
    // After the subclass's constructor: bytes already read (the prefix) may hold a malformed frame,
    // whose close calls onClosed(), which reads the subclass's fields.
    queueMicrotask(() => void this.#readLoop(options.prefix ?? new Uint8Array(0)));
  }

  /** True once the link is closed. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  abstract createBidirectionalStream(
    options?: { waitUntilAvailable?: boolean },
  ): Promise<ByteStream>;

  /** A KEY or WANT frame (the only frames a subclass handles). @throws {ZtnaError} when unexpected */
  protected abstract onFrame(type: "key" | "want" | "retire", payload: Uint8Array): void;

  /** Called once when the link closes, before `closed` settles. */
  protected abstract onClosed(): void;

  /** Hands a stream the other side opened to the roles. */
  protected pushIncoming(s: ByteStream): void {
    if (this.#isClosed || this.#detached) {
      void s.readable.cancel().catch(() => {});
      void s.writable.abort().catch(() => {});
      return;
    }
    this.#incoming.enqueue(s);
  }

  /** Sends one frame; frames go out whole and in order. @throws once the connection is gone */
  protected sendFrame(type: LinkFrameType, payload?: Uint8Array): Promise<void> {
    const frame = encodeLinkFrame(type, payload);
    const p = this.#writing.then(async () => {
      let at = 0;
      while (at < frame.byteLength) at += await this.#conn.write(frame.subarray(at));
    });
    this.#writing = p.catch(() => {});
    return p;
  }

  async sendDatagram(data: Uint8Array): Promise<void> {
    if (this.#isClosed) throw new Deno.errors.NotConnected("link closed");
    if (data.byteLength > TCP_MAX_DATAGRAM) throw new RangeError("datagram too large");
    await this.sendFrame("datagram", data);
  }

  async readDatagram(): Promise<Uint8Array> {
    while (true) {
      if (this.#detached) throw new Deno.errors.NotConnected("link retired");
      const d = this.#datagrams.shift();
      if (d) return d;
      if (this.#isClosed) throw new Deno.errors.NotConnected("link closed");
      this.#datagramWaiter = Promise.withResolvers();
      await this.#datagramWaiter.promise;
    }
  }

  close(info: LinkCloseInfo = { closeCode: 0, reason: "" }): void {
    if (this.#isClosed) return;
    const frame = this.sendFrame("close", encodeClose(info.closeCode, info.reason));
    // The CLOSE frame goes out before the connection is torn down (bounded: a stuck peer).
    const flushed = Promise.race([frame, new Promise((r) => setTimeout(r, 1_000))]);
    this.#end(info, undefined, flushed);
  }

  /**
   * Ends the link for the roles (control stream, incoming streams, datagrams, `closed`), while the
   * MAIN connection stays up for the streams still running; the subclass closes it later.
   */
  protected detach(info: LinkCloseInfo): void {
    if (this.#detached || this.#isClosed) return;
    this.#detached = true;
    this.#closeInputs();
    this.#settle.resolve(info);
  }

  /** Ends what the roles read: incoming streams, the control stream, pending datagram reads. */
  #closeInputs(): void {
    try {
      this.#incoming.close();
    } catch { /* already closed */ }
    try {
      this.#controlIn.close();
    } catch { /* already closed or errored */ }
    this.#datagramWaiter?.resolve();
    this.#controlPulled?.resolve();
  }

  /** True once {@link detach}ed or closed. */
  get isDetached(): boolean {
    return this.#detached || this.#isClosed;
  }

  /** Ends the link; `error` makes `closed` reject (a peer that vanished or fell silent). */
  #end(info: LinkCloseInfo, error?: Error, flushed: Promise<unknown> = Promise.resolve()): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    clearInterval(this.#timer);
    this.#closeInputs();
    this.onClosed();
    void flushed.catch(() => {}).finally(() => {
      try {
        this.#conn.close();
      } catch { /* already closed */ }
    });
    if (error) this.#settle.reject(error);
    else this.#settle.resolve(info);
  }

  #onTick(): void {
    const now = this.#clock();
    if (now - this.#lastHeard > this.#options.idleTimeoutMs) {
      this.#end({ closeCode: 0, reason: "timed out" }, new Error("timed out"));
      return;
    }
    if (this.#options.keepAliveMs > 0) void this.sendFrame("ping").catch(() => {});
  }

  async #readLoop(prefix: Uint8Array): Promise<void> {
    let buf = prefix;
    const chunk = new Uint8Array(64 * 1024);
    try {
      while (!this.#isClosed) {
        let d = decodeLinkFrame(buf);
        while (d.kind === "frame") {
          await this.#dispatch(d.type, d.payload);
          buf = buf.subarray(d.used);
          d = decodeLinkFrame(buf);
        }
        if (d.kind === "error") throw new ZtnaError(d.code, `link frame: ${d.why}`);
        const n = await this.#conn.read(chunk);
        if (n === null) throw new Error("connection lost");
        this.#lastHeard = this.#clock();
        const joined = new Uint8Array(buf.byteLength + n);
        joined.set(buf, 0);
        joined.set(chunk.subarray(0, n), buf.byteLength);
        buf = joined;
      }
    } catch (e) {
      if (this.#isClosed) return;
      if (e instanceof ZtnaError) {
        if (e.code === "frame_too_large" || e.code === "protocol_error") {
          this.#options.onProtocolError?.(e.code);
        }
        // A malformed frame: tell the peer why, as QUIC would with a CONNECTION_CLOSE.
        this.close({ closeCode: wireOf(e), reason: e.code });
        return;
      }
      this.#end({ closeCode: 0, reason: "lost" }, e instanceof Error ? e : new Error(String(e)));
    }
  }

  async #dispatch(type: LinkFrameType, payload: Uint8Array): Promise<void> {
    switch (type) {
      case "control":
        if (this.#detached) return; // the roles left this link
        if (!this.#controlSeen) {
          this.#controlSeen = true;
          this.onControlOpened();
        }
        this.#controlIn.enqueue(payload.slice());
        // A reader that does not keep up stops the whole MAIN connection (TCP is one stream anyway).
        while ((this.#controlIn.desiredSize ?? 1) <= 0 && !this.#isClosed) {
          this.#controlPulled = Promise.withResolvers();
          await this.#controlPulled.promise;
        }
        return;
      case "control_end":
        if (this.#detached) return;
        try {
          this.#controlIn.close();
        } catch { /* closed already */ }
        return;
      case "datagram":
        if (this.#detached) return;
        if (this.#datagrams.length >= LINK_DATAGRAM_INBOX) {
          this.droppedDatagrams++;
          return;
        }
        this.#datagrams.push(payload.slice());
        this.#datagramWaiter?.resolve();
        return;
      case "close":
        this.#end(decodeClose(payload));
        return;
      case "ping":
        void this.sendFrame("pong", payload.slice()).catch(() => {});
        return;
      case "pong":
        return;
      case "key":
      case "want":
      case "retire":
        this.onFrame(type, payload);
        return;
    }
  }

  /** The relay's first CONTROL frame: the control stream "arrives" (overridden at the relay). */
  protected onControlOpened(): void {}

  #controlStream(): ByteStream {
    const readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#controlIn = c;
      },
      pull: () => {
        this.#controlPulled?.resolve();
      },
    }, new ByteLengthQueuingStrategy({ highWaterMark: CONTROL_INBOX_BYTES }));
    const writable = new WritableStream<Uint8Array>({
      write: async (data) => {
        for (let at = 0; at < data.byteLength; at += CONTROL_CHUNK) {
          await this.sendFrame("control", data.subarray(at, at + CONTROL_CHUNK));
        }
      },
      close: async () => {
        await this.sendFrame("control_end").catch(() => {});
      },
    });
    return { readable, writable };
  }
}

function wireOf(e: ZtnaError): number {
  return ERRORS[e.code].wire;
}
