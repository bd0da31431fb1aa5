/**
 * Reads a connection's UDP datagrams and hands each payload to the flow its id names, at a flow
 * endpoint (client or connector). Unknown ids and malformed datagrams are dropped and reported.
 * @module
 */
import { decodeDatagram } from "../protocol/mod.ts";
import type { PeerLink } from "./peer_link.ts";

/**
 * Runs until the connection closes. `route` returns the flow's receiver or undefined; `drop`
 * receives the reason of every dropped datagram.
 */
export async function demuxDatagrams(
  conn: PeerLink,
  route: (flowId: number) => ((payload: Uint8Array) => void) | undefined,
  drop: (reason: "unknown_flow" | "malformed") => void,
): Promise<void> {
  while (true) {
    let datagram: Uint8Array;
    try {
      datagram = await conn.readDatagram();
    } catch {
      return; // connection closed
    }
    const d = decodeDatagram(datagram);
    if (!d) {
      drop("malformed");
      continue;
    }
    const deliver = route(d.flowId);
    if (deliver) deliver(d.payload);
    else drop("unknown_flow");
  }
}
