/**
 * The relay's end of a TCP link in process, over plain loopback TCP (TLS is the listener's job):
 * KEY first, idle offers handed out one per stream with their first bytes intact, WANT when none
 * is idle and a RangeError past the wait, the offer cap, RETIRE, every connection closed with the
 * link, and a client's silent STREAM parked until it speaks.
 * @module
 */
import assert from "node:assert/strict";
import {
  decodeKey,
  decodeLinkFrame,
  decodeWant,
  encodeLinkFrame,
  LINK_KEY_BYTES,
  type LinkFrameType,
} from "../protocol/mod.ts";
import type { ByteStream } from "../transport/mod.ts";
import { RelayTcpLink } from "./tcp_peer_link.ts";

/** A connected loopback pair: [our end, the relay's end]. */
async function pair(listener: Deno.TcpListener): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const [a, b] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  return [a, b];
}

/** Reads frames from the dialer's end of MAIN. */
function frames(conn: Deno.Conn) {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  return async (): Promise<{ type: LinkFrameType; payload: Uint8Array }> => {
    while (true) {
      const d = decodeLinkFrame(buf);
      if (d.kind === "frame") {
        buf = buf.subarray(d.used);
        return { type: d.type, payload: d.payload.slice() };
      }
      if (d.kind === "error") throw new Error(d.why);
      const n = await conn.read(chunk);
      if (n === null) throw new Error("MAIN ended");
      const joined = new Uint8Array(buf.byteLength + n);
      joined.set(buf);
      joined.set(chunk.subarray(0, n), buf.byteLength);
      buf = joined;
    }
  };
}

const OPTIONS = {
  keepAliveMs: 0,
  idleTimeoutMs: 5_000,
  remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 },
  streamCredit: 7,
  maxOffers: 2,
  offerWaitMs: 200,
};

Deno.test("RelayTcpLink hands out offers, asks for more, and retires", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [dialer, relayEnd] = await pair(listener);
  const link = new RelayTcpLink(relayEnd, OPTIONS);
  const next = frames(dialer);
  try {
    const key = await next();
    assert.equal(key.type, "key");
    assert.deepEqual(decodeKey(key.payload), { key: link.key, streamCredit: 7 });
    assert.equal(link.key.byteLength, LINK_KEY_BYTES);
    assert.ok(link.matches(link.key) && !link.matches(new Uint8Array(LINK_KEY_BYTES)));

    // Two offers fit, a third is closed at once.
    const offers = [await pair(listener), await pair(listener), await pair(listener)];
    assert.equal(link.addOffer(offers[0][1], new Uint8Array(0)), true);
    assert.equal(link.addOffer(offers[1][1], new Uint8Array(0)), true);
    assert.equal(link.addOffer(offers[2][1], new Uint8Array(0)), false);
    assert.equal(await offers[2][0].read(new Uint8Array(1)), null, "the extra offer is closed");
    assert.equal(link.idleOffers, 2);

    // A stream takes the first offer: bytes go both ways, the connector's first bytes intact.
    const stream = await link.createBidirectionalStream();
    const w = stream.writable.getWriter();
    await w.write(new TextEncoder().encode("FLOW"));
    const got = new Uint8Array(4);
    assert.equal(await offers[0][0].read(got), 4);
    assert.equal(new TextDecoder().decode(got), "FLOW");
    await offers[0][0].write(new TextEncoder().encode("ACCEPT"));
    const reader = stream.readable.getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), "ACCEPT");
    assert.equal(link.idleOffers, 1);

    // The last idle offer goes, and the relay asks for more at once.
    await link.createBidirectionalStream();
    const want = await next();
    assert.equal(want.type, "want");
    assert.ok(decodeWant(want.payload) >= 1);
    // None idle: WANT again, then a RangeError (full, not gone) past offerWaitMs.
    await assert.rejects(() => link.createBidirectionalStream(), RangeError);
    assert.equal((await next()).type, "want");

    // RETIRE: no more streams from this link (a non-RangeError: the pool drops it).
    await dialer.write(encodeLinkFrame("retire"));
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(link.retired);
    await assert.rejects(() => link.createBidirectionalStream(), Deno.errors.NotConnected);
  } finally {
    link.close({ closeCode: 0, reason: "" });
    dialer.close();
  }
});

Deno.test("RelayTcpLink closes its offers with the link", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [dialer, relayEnd] = await pair(listener);
  const link = new RelayTcpLink(relayEnd, OPTIONS);
  const [offerDialer, offerRelay] = await pair(listener);
  link.addOffer(offerRelay, new Uint8Array(0));
  link.close({ closeCode: 0x105, reason: "token_revoked" });
  assert.deepEqual(await link.closed, { closeCode: 0x105, reason: "token_revoked" });
  assert.equal(await offerDialer.read(new Uint8Array(1)), null, "the offer died with its link");
  // The dialer hears the code in a CLOSE frame.
  const next = frames(dialer);
  assert.equal((await next()).type, "key");
  const close = await next();
  assert.equal(close.type, "close");
  offerDialer.close();
  dialer.close();
});

Deno.test("RelayTcpLink parks a silent STREAM until it speaks, past the limit not", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [dialer, relayEnd] = await pair(listener);
  const link = new RelayTcpLink(relayEnd, { ...OPTIONS, streamCredit: 2 });
  const incoming = link.incomingBidirectionalStreams.getReader();
  // One read at a time: a read that outlives its wait takes the next stream when it comes.
  let pending: Promise<ByteStream | undefined> | undefined;
  const nextIncoming = async (ms: number) => {
    pending ??= incoming.read().then((r) => r.value);
    const got = await Promise.race([
      pending,
      new Promise<"none">((r) => setTimeout(() => r("none"), ms)),
    ]);
    if (got === "none") return undefined;
    pending = undefined;
    return got;
  };
  const dialed: Deno.TcpConn[] = [];
  const stream = async () => {
    const [ours, relays] = await pair(listener);
    dialed.push(ours);
    link.acceptStream(relays, new Uint8Array(0));
    return ours;
  };
  try {
    // A spare: parked, not incoming, until its OPEN arrives with its bytes intact.
    const spare = await stream();
    assert.equal(link.parkedStreams, 1);
    assert.equal(await nextIncoming(100), undefined, "a silent STREAM is not a flow yet");
    await spare.write(new TextEncoder().encode("OPEN"));
    const flow = await nextIncoming(2_000);
    assert.ok(flow, "it becomes a flow when it speaks");
    const first = await flow.readable.getReader().read();
    assert.equal(new TextDecoder().decode(first.value), "OPEN");
    assert.equal(link.parkedStreams, 0);
    // A spare closed unused leaves quietly: no stream, its place freed.
    const dropped = await stream();
    assert.equal(link.liveStreams, 2);
    dropped.close();
    for (let i = 0; i < 50 && link.liveStreams > 1; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(link.liveStreams, 1);
    assert.equal(link.parkedStreams, 0);
    assert.equal(await nextIncoming(100), undefined);
    // The link's streams (credit 2 + control = 3) full of one flow and two spares: the next STREAM
    // is not parked but handed over at once, for the session to refuse (limit_exceeded).
    await stream();
    await stream();
    assert.equal(link.parkedStreams, 2);
    await stream();
    assert.equal(link.parkedStreams, 2);
    assert.ok(await nextIncoming(2_000), "over the limit: incoming at once, without bytes");
  } finally {
    link.close({ closeCode: 0, reason: "" });
    for (const c of dialed) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    dialer.close();
  }
});
