/**
 * UDP helpers for e2e tests: an echo backend, and a windowed sender that checks every reply's
 * content (QUIC datagrams are unreliable, so lost ones are re-sent rather than ignored).
 * @module
 */

/** A UDP echo server on loopback; with `tagPort` it prefixes each reply with the sender's port. */
export function udpEcho(options: { tagPort?: boolean } = {}): { port: number; close(): void } {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  (async () => {
    for await (const [data, from] of socket) {
      const addr = from as Deno.NetAddr;
      const reply = options.tagPort
        ? new TextEncoder().encode(`${addr.port}:${new TextDecoder().decode(data)}`)
        : data;
      socket.send(reply, addr).catch(() => {});
    }
  })().catch(() => {});
  return { port: (socket.addr as Deno.NetAddr).port, close: () => socket.close() };
}

/**
 * A UDP backend on loopback that counts the datagrams it receives and never answers. `kernelDrops`
 * is what the kernel dropped because the socket's receive buffer was full (the test process reads
 * slower than a flood arrives): those reached the backend's host, so tests account for them.
 */
export function udpSink(): {
  port: number;
  readonly received: number;
  readonly kernelDrops: number;
  close(): void;
} {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  let received = 0;
  (async () => {
    for await (const _ of socket) received++;
  })().catch(() => {});
  return {
    port: (socket.addr as Deno.NetAddr).port,
    get received() {
      return received;
    },
    get kernelDrops() {
      return udpSocketDrops((socket.addr as Deno.NetAddr).port);
    },
    close: () => socket.close(),
  };
}

/** The `drops` column of /proc/net/udp for the IPv4 loopback socket bound to `port` (0 if none). */
function udpSocketDrops(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  // Deno asks for --allow-all to read /proc/net directly; a child `cat` needs only run permission.
  const table = new Deno.Command("cat", { args: ["/proc/net/udp"] }).outputSync();
  for (const line of new TextDecoder().decode(table.stdout).split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] === local) return Number(cols[cols.length - 1]);
  }
  return 0;
}

/** A local UDP socket talking to `port`. */
export function udpClient(port: number): {
  send(data: Uint8Array): Promise<number>;
  receive(timeoutMs: number): Promise<Uint8Array | null>;
  close(): void;
} {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const target: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
  const inbox: Uint8Array[] = [];
  const waiters: Array<(d: Uint8Array | null) => void> = [];
  (async () => {
    for await (const [data] of socket) {
      const w = waiters.shift();
      if (w) w(data);
      else if (inbox.length < 100_000) inbox.push(data);
    }
  })().catch(() => {});
  return {
    send: (data) => socket.send(data, target),
    receive(timeoutMs) {
      const d = inbox.shift();
      if (d) return Promise.resolve(d);
      return new Promise((resolve) => {
        const w = (v: Uint8Array | null) => {
          clearTimeout(timer);
          resolve(v);
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          resolve(null);
        }, timeoutMs);
        waiters.push(w);
      });
    },
    close: () => socket.close(),
  };
}

/** Payload `i` of a run tagged `tag`, of a size that cycles through small and large values. */
export function numbered(tag: string, i: number, maxSize = 1_000): Uint8Array {
  const head = `${tag}:${i}:`;
  const size = Math.max(head.length, [16, 200, 512, 999, 64, maxSize][i % 6]);
  const out = new Uint8Array(size).fill(0x61 + (i % 26));
  out.set(new TextEncoder().encode(head));
  return out;
}

/**
 * Sends `count` numbered datagrams through `port` with at most `window` outstanding, re-sending any
 * unanswered one after `retryMs`, and checks each reply byte for byte. Returns how many were re-sent
 * and any foreign replies (which must never happen).
 */
export async function echoExchange(
  port: number,
  tag: string,
  count: number,
  options: { window?: number; retryMs?: number; deadlineMs?: number } = {},
): Promise<{ answered: number; resent: number; foreign: string[] }> {
  const { window = 32, retryMs = 500, deadlineMs = 60_000 } = options;
  const client = udpClient(port);
  const outstanding = new Map<number, number>(); // i → sent at
  let next = 0;
  let answered = 0;
  let resent = 0;
  const foreign: string[] = [];
  const deadline = Date.now() + deadlineMs;
  try {
    while (answered < count && Date.now() < deadline) {
      while (outstanding.size < window && next < count) {
        await client.send(numbered(tag, next));
        outstanding.set(next++, Date.now());
      }
      const reply = await client.receive(retryMs);
      if (reply) {
        const text = new TextDecoder().decode(reply.subarray(0, 40));
        const [rtag, ri] = text.split(":");
        const i = Number(ri);
        if (rtag !== tag) {
          foreign.push(text);
          continue;
        }
        const want = numbered(tag, i);
        if (
          outstanding.has(i) && reply.byteLength === want.byteLength &&
          reply.every((b, k) => b === want[k])
        ) {
          outstanding.delete(i);
          answered++;
        }
        continue;
      }
      const now = Date.now();
      for (const [i, at] of outstanding) {
        if (now - at >= retryMs) {
          await client.send(numbered(tag, i));
          outstanding.set(i, now);
          resent++;
        }
      }
    }
    return { answered, resent, foreign };
  } finally {
    client.close();
  }
}
