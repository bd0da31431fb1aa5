/**
 * connByteStream over loopback TCP: closing the writable half-closes (the other direction goes on),
 * the connection closes once both directions are done, an abort closes it at once, and bytes read
 * before (the prefix) come first.
 * @module
 */
import assert from "node:assert/strict";
import { connByteStream } from "./tls_stream.ts";

async function pair(listener: Deno.TcpListener): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const [a, b] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  return [a, b];
}

async function readAll(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(1024);
  let text = "";
  while (true) {
    const n = await conn.read(buf);
    if (n === null) return text;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
}

Deno.test("connByteStream() half-closes like a QUIC stream, then closes", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [peer, ours] = await pair(listener);
  let closed = 0;
  const stream = connByteStream(ours, {
    prefix: new TextEncoder().encode("early:"),
    onClose: () => closed++,
  });
  const writer = stream.writable.getWriter();
  await writer.write(new TextEncoder().encode("request"));
  await writer.close();
  // The peer sees our end of stream, and can still answer.
  assert.equal(await readAll(peer), "request");
  assert.equal(closed, 0, "still open: the other direction goes on");
  await peer.write(new TextEncoder().encode("answer"));
  await peer.closeWrite();
  const got = await new Response(stream.readable).text();
  assert.equal(got, "early:answer");
  assert.equal(closed, 1, "closed once both directions ended");
  peer.close();
});

Deno.test("connByteStream() abort closes the connection at once", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [peer, ours] = await pair(listener);
  let closed = 0;
  const stream = connByteStream(ours, { onClose: () => closed++ });
  await stream.writable.abort("reset");
  assert.equal(closed, 1);
  assert.equal(await readAll(peer).catch(() => ""), "");
  await stream.readable.cancel().catch(() => {});
  peer.close();
});
