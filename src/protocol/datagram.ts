/**
 * UDP payload in QUIC datagrams: a 4-byte flow id, then the payload. The relay allocates flow ids
 * per (client, connector) pair and keeps one table per connection, so a datagram can only ever reach
 * the flow of the connection it belongs to. Pure: no I/O. Layout: docs/PROTOCOL.md, "UDP flows".
 * @module
 */

/** Bytes in front of every UDP payload. */
export const DATAGRAM_HEADER = 4;

/** Prefixes `payload` with `flowId`. */
export function encodeDatagram(flowId: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(DATAGRAM_HEADER + payload.byteLength);
  new DataView(out.buffer).setUint32(0, flowId);
  out.set(payload, DATAGRAM_HEADER);
  return out;
}

/** Splits a datagram; `null` when it is too short to carry a flow id. Payload is a view. */
export function decodeDatagram(d: Uint8Array): { flowId: number; payload: Uint8Array } | null {
  if (d.byteLength < DATAGRAM_HEADER) return null;
  return {
    flowId: new DataView(d.buffer, d.byteOffset, 4).getUint32(0),
    payload: d.subarray(DATAGRAM_HEADER),
  };
}

/** Largest payload that fits a connection whose datagrams may be `maxDatagramSize` bytes. */
export function maxPayload(maxDatagramSize: number): number {
  return Math.max(0, maxDatagramSize - DATAGRAM_HEADER);
}
