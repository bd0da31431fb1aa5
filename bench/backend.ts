/**
 * The bench backend, run as its own process so the load generator never shares an event loop with
 * it: one TCP port on loopback that acts as sink, source or echo per connection, chosen by the
 * preamble of bench_protocol.ts, and one UDP port that counts probe datagrams per run and answers
 * queries about them (udp_probe.ts). Prints
 * `Bench backend listening on 127.0.0.1:<tcp port>, udp 127.0.0.1:<udp port>` when ready.
 *
 * Usage: `deno run --allow-net bench/backend.ts`
 * @module
 */
import { decodePreamble, PREAMBLE_BYTES, UPLOAD_ACK } from "./bench_protocol.ts";
import { ProbeCounter } from "./udp_probe.ts";

/** Read and write size; large enough that syscalls are not what a run measures. */
const IO_CHUNK = 256 * 1024;

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let at = 0;
  while (at < data.byteLength) at += await conn.write(data.subarray(at));
}

/** Reads the preamble; returns it with any payload bytes that came in the same read. */
async function readPreamble(conn: Deno.Conn, buf: Uint8Array) {
  let have = 0;
  while (true) {
    const d = decodePreamble(buf.subarray(0, have));
    if (d.kind === "preamble") return { ...d, extra: have - PREAMBLE_BYTES };
    if (d.kind === "error") throw new Error(`Bad bench preamble: ${d.why}`);
    const n = await conn.read(buf.subarray(have));
    if (n === null) throw new Error("Connection ended before the bench preamble");
    have += n;
  }
}

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buf = new Uint8Array(IO_CHUNK);
  const p = await readPreamble(conn, buf);
  switch (p.mode) {
    case "upload": {
      let got = p.extra;
      while (got < p.count) {
        const n = await conn.read(buf);
        if (n === null) throw new Error(`Upload ended after ${got} of ${p.count} bytes`);
        got += n;
      }
      await writeAll(conn, Uint8Array.of(UPLOAD_ACK));
      // Wait for the client to hang up, so no unread byte turns our close into a reset.
      while ((await conn.read(buf)) !== null) { /* drain */ }
      return;
    }
    case "download": {
      const block = new Uint8Array(IO_CHUNK);
      crypto.getRandomValues(block.subarray(0, 65_536));
      for (let at = 0; at < block.byteLength; at += 65_536) block.copyWithin(at, 0, 65_536);
      let left = p.count;
      while (left > 0) {
        const n = Math.min(left, block.byteLength);
        await writeAll(conn, block.subarray(0, n));
        left -= n;
      }
      return;
    }
    case "echo": {
      if (p.extra > 0) await writeAll(conn, buf.slice(PREAMBLE_BYTES, PREAMBLE_BYTES + p.extra));
      while (true) {
        const n = await conn.read(buf);
        if (n === null) return;
        await writeAll(conn, buf.subarray(0, n));
      }
    }
  }
}

/**
 * Counts the probes arriving on `socket` and answers queries to whoever sent them. One receive
 * buffer is reused (a probe is counted before the next receive): without it Deno allocates 64 KiB
 * per datagram, and the sink, not the path, would set the packet rate.
 */
async function countProbes(socket: Deno.DatagramConn): Promise<void> {
  const counter = new ProbeCounter();
  const buf = new Uint8Array(2_048);
  while (true) {
    const [data, from] = await socket.receive(buf);
    const answer = counter.receive(data, performance.now());
    if (answer) await socket.send(answer, from).catch(() => {});
  }
}

if (import.meta.main) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0, transport: "tcp" });
  const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  void countProbes(udp).catch((e) =>
    console.error(`Bench backend UDP sink failed: ${e instanceof Error ? e.message : e}`)
  );
  console.log(
    `Bench backend listening on 127.0.0.1:${listener.addr.port}, ` +
      `udp 127.0.0.1:${(udp.addr as Deno.NetAddr).port}`,
  );
  for await (const conn of listener) {
    serve(conn)
      .catch((e) =>
        console.error(`Bench backend connection failed: ${e instanceof Error ? e.message : e}`)
      )
      .finally(() => {
        try {
          conn.close();
        } catch { /* already closed */ }
      });
  }
}
