/**
 * What a flow gets from the client's connections: a stream on one of them and the call that gives
 * its place back (relay_pool.ts hands these out).
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ByteStream, PeerLink } from "../transport/mod.ts";

/** A flow's stream, the connection it runs on, and the call that frees its place. */
export interface StreamLease {
  stream: ByteStream;
  conn: PeerLink;
  /** Ends the flow's claim on its connection; idempotent. */
  release(): void;
}

/** Where new flow streams come from. */
export interface StreamSource {
  /**
   * A stream for a `protocol` flow to `service` (TCP by default); waits at the ceiling.
   * @throws when no connection is left
   */
  openStream(service: string, log?: Logger, protocol?: "tcp" | "udp"): Promise<StreamLease>;
}

/** Opens a stream on `conn` at once, or undefined when the peer gives no stream credit now. */
export async function tryStream(conn: PeerLink): Promise<ByteStream | undefined> {
  try {
    return await conn.createBidirectionalStream();
  } catch (e) {
    // Deno 2.9.6 throws RangeError when the peer allows no more concurrent streams.
    if (e instanceof RangeError) return undefined;
    throw e;
  }
}
