/**
 * SOCKS5 UDP ASSOCIATE at the client's SOCKS endpoint, with a raw SOCKS5 UDP client: datagrams to
 * `echo.ztna` reach a UDP echo service behind the connector and come back with the target's header,
 * byte for byte; a name the token does not grant is dropped and logged; another local socket cannot
 * use the association. The client runs without direct paths, so its sandbox's `net` is the narrow
 * list; a plain UDP forward of it answers too (it did not, before the list held the loopback host
 * for replies). And a real DNS query: dig resolves a name from a real dnsmasq behind the connector as
 * `dns.ztna`, through an association; dig cannot speak SOCKS, so it asks a small shim in this file
 * that holds the association and adds and strips the SOCKS5 UDP header.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort } from "../_helpers/cluster.ts";
import { LIMIT_TEST } from "../_helpers/limits.ts";
import { startDnsmasq } from "../_helpers/dnsmasq.ts";

const enc = new TextEncoder();

/** A UDP echo server in this process. */
function udpEcho(): { port: number; close(): void } {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  void (async () => {
    for await (const [data, from] of socket) await socket.send(data, from);
  })().catch(() => {});
  return { port: (socket.addr as Deno.NetAddr).port, close: () => socket.close() };
}

async function readAtLeast(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(512);
  let at = 0;
  while (at < n) {
    const got = await conn.read(buf.subarray(at));
    if (got === null) break;
    at += got;
  }
  return buf.subarray(0, at);
}

/** `RSV RSV FRAG ATYP=domain LEN NAME PORT`. */
function udpHeader(name: string, port: number): Uint8Array {
  const b = enc.encode(name);
  return Uint8Array.of(0, 0, 0, 3, b.length, ...b, port >> 8, port & 0xff);
}

/** Receives one datagram within `ms`, or undefined. */
async function receiveWithin(
  socket: Deno.DatagramConn,
  ms: number,
): Promise<Uint8Array | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([
    socket.receive().then(([d]) => d),
    new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), ms)),
  ]);
  clearTimeout(timer);
  return r;
}

Deno.test("client SOCKS5 UDP ASSOCIATE reaches a UDP service by name", LIMIT_TEST, async () => {
  await using fx = await Fixture.create("socks-udp");
  const echo = udpEcho();
  const relayPort = freeUdpPort();
  await fx.relay(relayPort);
  await fx.connector(
    [relayPort],
    { echo: { backend: `127.0.0.1:${echo.port}`, protocol: "udp" } },
    (await fx.token("connector", { services: ["echo"] })).path,
  );
  const socks = freeTcpPort();
  const forwarded = freeUdpPort();
  const client = await fx.client(
    [relayPort],
    { [`127.0.0.1:${forwarded}`]: "echo@udp" },
    (await fx.token("client", { services: ["echo"] })).path,
    { extra: `direct = false\nsocks = "127.0.0.1:${socks}"` },
  );
  await client.waitFor(/Token grants echo/);
  const control = await Deno.connect({ hostname: "127.0.0.1", port: socks });
  const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const other = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    await control.write(Uint8Array.of(5, 1, 0));
    assert.deepEqual([...await readAtLeast(control, 2)], [5, 0]);
    // The port this client will send from (RFC 1928 lets it say so up front).
    const from = (udp.addr as Deno.NetAddr).port;
    await control.write(Uint8Array.of(5, 3, 0, 1, 127, 0, 0, 1, from >> 8, from & 0xff));
    const reply = await readAtLeast(control, 10);
    assert.equal(reply[1], 0x00, `reply ${[...reply]}`);
    assert.equal(reply[3], 1);
    const relayTo: Deno.NetAddr = {
      transport: "udp",
      hostname: [...reply.subarray(4, 8)].join("."),
      port: (reply[8] << 8) | reply[9],
    };

    const header = udpHeader("echo.ztna", 7);
    for (let i = 0; i < 50; i++) {
      const payload = enc.encode(`datagram ${i} `.repeat(1 + (i % 20)));
      const datagram = new Uint8Array([...header, ...payload]);
      await udp.send(datagram, relayTo);
      // The first datagram waits for its flow to open; the rest are quick.
      const back = await receiveWithin(udp, i === 0 ? 10_000 : 3_000);
      assert.ok(back, `no reply to datagram ${i}`);
      assert.deepEqual([...back], [...datagram], `datagram ${i}`);
    }

    // Not granted: dropped (no reply), and the client says why once.
    await udp.send(new Uint8Array([...udpHeader("db.ztna", 53), 1, 2, 3]), relayTo);
    assert.equal(await receiveWithin(udp, 500), undefined);
    await client.waitFor(/Dropped SOCKS5 UDP datagrams for db\.ztna: not_granted/);

    // Another local socket is not this association's client.
    await other.send(new Uint8Array([...header, 9, 9, 9]), relayTo);
    assert.equal(await receiveWithin(other, 500), undefined);

    // Still served after those.
    await udp.send(new Uint8Array([...header, 4, 2]), relayTo);
    assert.deepEqual([...(await receiveWithin(udp, 3_000)) ?? []], [...header, 4, 2]);

    // A plain UDP forward of the same sandboxed client answers its local source too (its sandbox
    // lets it send to any port of the loopback host it listens on).
    await other.send(Uint8Array.of(7, 7), {
      transport: "udp",
      hostname: "127.0.0.1",
      port: forwarded,
    });
    assert.deepEqual([...(await receiveWithin(other, 10_000)) ?? []], [7, 7]);
  } finally {
    control.close();
    udp.close();
    other.close();
    echo.close();
  }
});

/**
 * A UDP socket on 127.0.0.1 for a program that cannot speak SOCKS5 (dig): it holds a UDP ASSOCIATE
 * at `socksPort` and carries each datagram it receives to `name`:`port` through the association,
 * the SOCKS5 UDP header added on the way out and, on the way back, checked (it names the same
 * target) and stripped before the payload goes to whoever last asked. `foreign` counts replies
 * whose header was not the target's (dropped).
 */
async function socksUdpShim(
  socksPort: number,
  name: string,
  port: number,
): Promise<{ port: number; foreign(): number; close(): Promise<void> }> {
  const control = await Deno.connect({ hostname: "127.0.0.1", port: socksPort });
  const front = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const back = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const closeAll = () => {
    for (const c of [control, front, back]) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
  };
  let relayTo: Deno.NetAddr;
  try {
    await control.write(Uint8Array.of(5, 1, 0));
    assert.deepEqual([...await readAtLeast(control, 2)], [5, 0]);
    const from = (back.addr as Deno.NetAddr).port;
    await control.write(Uint8Array.of(5, 3, 0, 1, 127, 0, 0, 1, from >> 8, from & 0xff));
    const reply = await readAtLeast(control, 10);
    assert.equal(reply[1], 0x00, `reply ${[...reply]}`);
    assert.equal(reply[3], 1);
    relayTo = {
      transport: "udp",
      hostname: [...reply.subarray(4, 8)].join("."),
      port: (reply[8] << 8) | reply[9],
    };
  } catch (e) {
    closeAll();
    throw e;
  }
  const header = udpHeader(name, port);
  let asker: Deno.Addr | undefined;
  let foreign = 0;
  const pumps = Promise.allSettled([
    (async () => {
      for await (const [data, from] of front) {
        asker = from;
        await back.send(new Uint8Array([...header, ...data]), relayTo);
      }
    })(),
    (async () => {
      for await (const [data] of back) {
        const ours = data.length >= header.length && header.every((b, i) => data[i] === b);
        if (!ours) foreign++;
        else if (asker) await front.send(data.subarray(header.length), asker);
      }
    })(),
  ]);
  return {
    port: (front.addr as Deno.NetAddr).port,
    foreign: () => foreign,
    close: async () => {
      closeAll();
      await pumps;
    },
  };
}

Deno.test(
  "client SOCKS5 UDP ASSOCIATE: dig resolves a name from a real dnsmasq by service name",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("socks-dns");
    const dnsPort = freeUdpPort();
    const dnsmasq = startDnsmasq(dnsPort);
    let shim: Awaited<ReturnType<typeof socksUdpShim>> | undefined;
    try {
      const relayPort = freeUdpPort();
      await fx.relay(relayPort);
      await fx.connector(
        [relayPort],
        { dns: { backend: `127.0.0.1:${dnsPort}`, protocol: "udp" } },
        (await fx.token("connector", { services: ["dns"] })).path,
      );
      const socks = freeTcpPort();
      const client = await fx.client(
        [relayPort],
        {},
        (await fx.token("client", { services: ["dns"] })).path,
        { extra: `direct = false\nsocks = "127.0.0.1:${socks}"` },
      );
      await client.waitFor(/Token grants dns/);
      shim = await socksUdpShim(socks, "dns.ztna", 53);
      const out = await new Deno.Command("dig", {
        args: [
          "@127.0.0.1",
          "-p",
          String(shim.port),
          "app.example.test",
          "A",
          "+short",
          "+tries=1",
          "+time=3",
        ],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(15_000),
      }).output();
      const dec = new TextDecoder();
      assert.equal(
        dec.decode(out.stdout).trim(),
        "192.0.2.7",
        `dig (code ${out.code}): ${dec.decode(out.stdout)}${dec.decode(out.stderr)}`,
      );
      assert.equal(shim.foreign(), 0, "every reply carried the header of dns.ztna");
      assert.doesNotMatch(client.output, /Dropped SOCKS5 UDP datagrams/);
    } finally {
      await shim?.close();
      try {
        dnsmasq.kill("SIGTERM");
      } catch { /* it already ended */ }
      await dnsmasq.status;
    }
  },
);
