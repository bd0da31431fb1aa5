/**
 * A tiny network peer that netns tests run inside a namespace (`deno run -A --unstable-net`).
 * Servers print `listening <proto> <host>:<port>` once bound; probes print one JSON line and exit.
 *
 * - `udp-echo <host> <port>`: answers each datagram with the source it saw, `"<ip>:<port>"`.
 * - `tcp-echo <host> <port>`: writes the source it saw, `"<ip>:<port>\n"`, to each connection.
 * - `http <host> <port> <name>`: answers `"<name> <method> <path>"`.
 * - `udp-probe <timeoutMs> <host:port>...`: from ONE socket, asks each echo what it sees; prints
 *   `{ "local": port, "seen": ["<ip>:<port>" | null, ...] }`.
 * - `tcp-probe <timeoutMs> <host:port>`: prints `{ "seen": "<ip>:<port>" }` or `{ "error": name }`.
 * - `udp-punch <localPort> <host:port> <timeoutMs>`: sends to the peer every 100 ms from a fixed
 *   port until it hears from it (then 300 ms more, so the peer hears us too); prints
 *   `{ "from": "<ip>:<port>" | null }`.
 * @module
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

function hostPort(s: string): Deno.NetAddr {
  const i = s.lastIndexOf(":");
  return { transport: "udp", hostname: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

function addrText(a: Deno.Addr): string {
  const n = a as Deno.NetAddr;
  return `${n.hostname}:${n.port}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function udpEcho(hostname: string, port: number): Promise<void> {
  const socket = Deno.listenDatagram({ transport: "udp", hostname, port });
  console.log(`listening udp ${hostname}:${port}`);
  for await (const [, from] of socket) {
    await socket.send(enc.encode(addrText(from)), from).catch(() => {});
  }
}

async function tcpEcho(hostname: string, port: number): Promise<void> {
  const listener = Deno.listen({ hostname, port });
  console.log(`listening tcp ${hostname}:${port}`);
  for await (const conn of listener) {
    await conn.write(enc.encode(`${addrText(conn.remoteAddr)}\n`)).catch(() => {});
    conn.close();
  }
}

function http(hostname: string, port: number, name: string): void {
  Deno.serve({
    hostname,
    port,
    onListen: () => console.log(`listening http ${hostname}:${port}`),
  }, (req) => {
    const path = new URL(req.url).pathname;
    // GET /bytes/N streams N bytes (bulk transfers for direct-path tests).
    const bulk = /^\/bytes\/(\d+)$/.exec(path);
    if (!bulk) return new Response(`${name} ${req.method} ${path}`);
    let left = Number(bulk[1]);
    const chunk = new Uint8Array(64 * 1024).fill(0x5a);
    return new Response(
      new ReadableStream<Uint8Array>({
        pull(c) {
          if (left <= 0) return c.close();
          const n = Math.min(left, chunk.byteLength);
          c.enqueue(chunk.slice(0, n));
          left -= n;
        },
      }),
    );
  });
}

async function udpProbe(timeoutMs: number, targets: string[]): Promise<void> {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0 });
  const answers = new Map<string, string>();
  (async () => {
    for await (const [data, from] of socket) answers.set(addrText(from), dec.decode(data));
  })().catch(() => {});
  const seen: Array<string | null> = [];
  for (const target of targets) {
    const deadline = Date.now() + timeoutMs;
    while (!answers.has(target) && Date.now() < deadline) {
      await socket.send(enc.encode("probe"), hostPort(target)).catch(() => {});
      await sleep(100);
    }
    seen.push(answers.get(target) ?? null);
  }
  console.log(JSON.stringify({ local: (socket.addr as Deno.NetAddr).port, seen }));
  Deno.exit(0);
}

async function tcpProbe(timeoutMs: number, target: string): Promise<void> {
  const { hostname, port } = hostPort(target);
  const timeout = sleep(timeoutMs).then(() => ({ error: "TimedOut" }));
  const attempt = (async () => {
    try {
      const conn = await Deno.connect({ hostname, port });
      const buf = new Uint8Array(256);
      const n = await conn.read(buf);
      conn.close();
      return { seen: dec.decode(buf.subarray(0, n ?? 0)).trim() };
    } catch (e) {
      return { error: e instanceof Error ? e.name : String(e) };
    }
  })();
  console.log(JSON.stringify(await Promise.race([attempt, timeout])));
  Deno.exit(0);
}

async function udpPunch(localPort: number, target: string, timeoutMs: number): Promise<void> {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: localPort });
  let from: string | null = null;
  (async () => {
    for await (const [, addr] of socket) from ??= addrText(addr);
  })().catch(() => {});
  const deadline = Date.now() + timeoutMs;
  let stopAt = deadline;
  while (Date.now() < stopAt) {
    await socket.send(enc.encode("punch"), hostPort(target)).catch(() => {});
    await sleep(100);
    if (from !== null && stopAt === deadline) stopAt = Math.min(deadline, Date.now() + 300);
  }
  console.log(JSON.stringify({ from }));
  Deno.exit(0);
}

const [mode, ...rest] = Deno.args;
switch (mode) {
  case "udp-echo":
    await udpEcho(rest[0], Number(rest[1]));
    break;
  case "tcp-echo":
    await tcpEcho(rest[0], Number(rest[1]));
    break;
  case "http":
    http(rest[0], Number(rest[1]), rest[2]);
    break;
  case "udp-probe":
    await udpProbe(Number(rest[0]), rest.slice(1));
    break;
  case "tcp-probe":
    await tcpProbe(Number(rest[0]), rest[1]);
    break;
  case "udp-punch":
    await udpPunch(Number(rest[0]), rest[1], Number(rest[2]));
    break;
  default:
    console.error(`Cannot run peer mode "${mode}": expected one of udp-echo, tcp-echo, http, ...`);
    Deno.exit(2);
}
