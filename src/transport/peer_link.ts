/**
 * The transport-neutral link between a peer and a relay: the part of `Deno.QuicConn` the roles use,
 * so that QUIC and TLS over TCP (tcp_link.ts) are interchangeable below relay, client and connector.
 * `Deno.QuicConn` satisfies it as it is (its `transport` is absent, which means QUIC).
 * @module
 */

/** One bidirectional byte stream of a link (a QUIC stream, or one TLS connection over TCP). */
export interface ByteStream {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

/** How a link was closed: a wire code of protocol/errors.ts (0 = no error) and a short reason. */
export interface LinkCloseInfo {
  closeCode: number;
  reason: string;
}

/** Which transport carries a link. */
export type LinkTransport = "quic" | "tcp";

/** A peer ↔ relay link. */
export interface PeerLink {
  /** The other end's address as this side sees it (for the relay: QAD and per-source limits). */
  readonly remoteAddr: Deno.NetAddr;
  /** Streams the other side opened; the first one a dialer opens is the control stream. */
  readonly incomingBidirectionalStreams: ReadableStream<ByteStream>;
  /**
   * Opens a stream to the other side; it reaches the other side with its first bytes.
   * @throws {RangeError} when the other side allows no more streams now (full, not gone)
   */
  createBidirectionalStream(options?: { waitUntilAvailable?: boolean }): Promise<ByteStream>;
  /** Sends one datagram (no delivery guarantee); at most `maxDatagramSize` bytes. */
  sendDatagram(data: Uint8Array): Promise<void>;
  /** The next datagram. @throws once the link is closed */
  readDatagram(): Promise<Uint8Array>;
  /** Largest datagram the link carries now. */
  readonly maxDatagramSize: number;
  /** Closes the link with a code; idempotent. */
  close(info?: LinkCloseInfo): void;
  /** Settles when the link is closed (rejects when it died without a close from either side). */
  readonly closed: Promise<LinkCloseInfo>;
  /** "tcp" for a TLS-over-TCP link; absent on a `Deno.QuicConn`. @default {"quic"} */
  readonly transport?: LinkTransport;
  /**
   * Streams the other side opened that have not spoken yet and so are not incoming: a client's
   * spare STREAM connections (TCP), which count against its stream limit. Absent on QUIC.
   */
  readonly parkedStreams?: number;
  /**
   * Told once the relay answered HELLO with WELCOME: a TCP link starts its spare STREAM (client)
   * or OFFER (connector) connections only then, so a refused peer costs the relay one TLS
   * handshake per attempt, not three or five.
   */
  welcomed?(): void;
}

/** The transport of `link`. */
export function linkTransport(link: PeerLink): LinkTransport {
  return link.transport ?? "quic";
}
