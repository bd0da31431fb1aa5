/**
 * Picks free loopback ports for the demo by binding port 0 and releasing it.
 * @module
 */

/** A TCP port free on 127.0.0.1 right now. */
export function freeTcpPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** A UDP port free on 127.0.0.1 right now. */
export function freeUdpPort(): number {
  const s = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const port = (s.addr as Deno.NetAddr).port;
  s.close();
  return port;
}
