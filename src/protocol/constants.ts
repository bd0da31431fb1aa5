/**
 * Protocol constants of ztna-v2, each with the reason for its value.
 * @module
 */

/** ALPN of this protocol revision; the MVP used `ztna-v1` and is deliberately incompatible. */
export const ALPN = "ztna-v2";

/**
 * Versions this build speaks, newest first; HELLO lists them and the relay answers the highest
 * common one in WELCOME. 3 adds the connector's ACCEPT header (docs/PROTOCOL.md, "Flow streams");
 * 4 adds UNREGISTER (a reloading connector leaves a service's pool and keeps its connection);
 * 5 adds the relay's FLEET and DRAIN messages (sent only to peers that speak 5: an older peer's
 * decoder takes an unknown message for a protocol error);
 * everything else of 2 is unchanged, so a relay and a connector of either revision still work.
 */
export const PROTOCOL_VERSIONS = [5, 4, 3, 2] as const;

/** First version in which a connector answers every FLOW with ACCEPT before it dials the backend. */
export const FLOW_ACCEPT_VERSION = 3;

/** First version in which a connector may send UNREGISTER (a v3 relay would close on it). */
export const UNREGISTER_VERSION = 4;

/** First version in which the relay sends FLEET (the live relays) and DRAIN (it is stopping). */
export const FLEET_VERSION = 5;

/** Control messages larger than this close the connection (design: 64 KiB). */
export const MAX_CONTROL_MESSAGE = 64 * 1024;

/** Largest data frame a receiver accepts; senders use DATA_CHUNK. Bounds per-frame buffering. */
export const MAX_DATA_FRAME = 256 * 1024;

/** Size of the reads senders frame; 64 KiB matches the TCP read size that measured best. */
export const DATA_CHUNK = 64 * 1024;

/** Stream headers are tiny; anything bigger than this before the header completes is hostile. */
export const MAX_STREAM_HEADER = 512;

/** Longest identity (token subject) carried in a FLOW header. */
export const MAX_IDENTITY_BYTES = 128;
