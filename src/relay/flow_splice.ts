/**
 * The splice of an opened flow: bytes forwarded both ways as they come, counted for the relay and
 * for both peers, a UDP flow's datagrams routed meanwhile, and the flow registered with the client's
 * session so a policy reload that takes its service away can reset it.
 * @module
 */
import type { ChunkReader } from "../transport/mod.ts";
import type { ConnectorMember, FlowDeps, PolicyPeer } from "./flow_deps.ts";
import type { FlowOpen } from "./pool_open.ts";
import { type DatagramPeer, linkUdpFlow } from "./udp_links.ts";

/** Forwards bytes one way until end of stream; a broken side breaks the other (no END reaches it). */
async function forward(
  from: ChunkReader,
  to: WritableStreamDefaultWriter<Uint8Array>,
  count: (n: number) => void,
): Promise<void> {
  while (true) {
    let chunk: Uint8Array | null;
    try {
      // Valid until the next read; the awaited write below is done with it by then.
      chunk = await from.nextReusing();
    } catch {
      await to.close().catch(() => {});
      return;
    }
    if (chunk === null) {
      await to.close().catch(() => {});
      return;
    }
    try {
      await to.write(chunk);
      count(chunk.byteLength);
    } catch {
      await from.cancel("downstream gone");
      return;
    }
  }
}

/** Both halves of a flow once its member answered `ok`: client ↔ connector. */
export interface Halves {
  client: ChunkReader;
  clientWriter: WritableStreamDefaultWriter<Uint8Array>;
  connector: ChunkReader;
  connectorWriter: WritableStreamDefaultWriter<Uint8Array>;
}

/**
 * Splices an opened flow byte for byte, counting bytes for the relay and both peers, until both
 * directions end; a UDP flow (no payload on its streams) ends when either side does, and its
 * datagrams are routed meanwhile. A policy reload that takes the service away resets both streams.
 */
export async function splice(
  f: FlowOpen & { flowId: number },
  h: Halves,
  peer: DatagramPeer & PolicyPeer,
  connected: ConnectorMember,
  deps: FlowDeps,
): Promise<void> {
  const { client, clientWriter, connector, connectorWriter } = h;
  const unlink = f.protocol === "udp" ? linkUdpFlow(f.flowId, peer, connected) : () => {};
  const untrack = peer.trackFlow?.({
    service: f.service,
    close: (code) => {
      void clientWriter.abort(code).catch(() => {});
      void connectorWriter.abort(code).catch(() => {});
      void client.cancel(code).catch(() => {});
      void connector.cancel(code).catch(() => {});
    },
  });
  const pumps = [
    forward(client, connectorWriter, (n) => {
      deps.metrics.bytes.inc("to_connector", n);
      peer.counters.fromPeer(n);
      connected.counters.toPeer(n);
    }),
    forward(connector, clientWriter, (n) => {
      deps.metrics.bytes.inc("to_client", n);
      connected.counters.fromPeer(n);
      peer.counters.toPeer(n);
    }),
  ];
  try {
    if (f.protocol === "udp") {
      // Either side ending (idle expiry, close) ends the whole UDP flow.
      await Promise.race(pumps);
      unlink();
      await Promise.all([
        clientWriter.close().catch(() => {}),
        connectorWriter.close().catch(() => {}),
      ]);
      await Promise.all([client.cancel("udp flow ended"), connector.cancel("udp flow ended")]);
    }
    await Promise.all(pumps);
  } finally {
    unlink();
    untrack?.();
  }
}
