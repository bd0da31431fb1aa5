/**
 * Baseline of the relay-memory study (bench/flood_memory.ts): the least a Deno QUIC server can be —
 * one `Deno.QuicEndpoint` listening with the relay's ALPN, idle timeout and stream limits, that
 * accepts every connection and holds it until it closes. No authentication, no session, no log.
 * A line `mem` on stdin prints `Memory {json}` (Deno.memoryUsage()), so the V8 heap can be set
 * beside the process's RSS.
 * Usage: `deno run --allow-net=127.0.0.1 --allow-read bench/baselines/quic_bare_server.ts
 * --cert=F --key=F [--idle-timeout-ms=3000] [--max-streams=128]`; prints
 * `Bare QUIC server listening on 127.0.0.1:<port>`.
 * @module
 */
import { parseArgs } from "node:util";
import { ALPN } from "../../src/protocol/constants.ts";

/** Readiness line. */
export const BARE_READY = /Bare QUIC server listening on 127\.0\.0\.1:(\d+)/;

async function serve(listener: Deno.QuicListener): Promise<void> {
  while (true) {
    const conn = await listener.accept().catch(() => undefined);
    if (!conn) continue;
    void conn.closed.catch(() => {});
  }
}

async function answerMemoryRequests(): Promise<void> {
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let pending = "";
  for await (const chunk of lines) {
    pending += chunk;
    let at;
    while ((at = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, at).trim();
      pending = pending.slice(at + 1);
      if (line === "mem") console.log(`Memory ${JSON.stringify(Deno.memoryUsage())}`);
    }
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      cert: { type: "string" },
      key: { type: "string" },
      "idle-timeout-ms": { type: "string", default: "3000" },
      "max-streams": { type: "string", default: "128" },
    },
    strict: true,
  });
  if (!values.cert || !values.key) {
    throw new RangeError("Cannot start the bare QUIC server as '--cert' or '--key' is missing");
  }
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = endpoint.listen({
    alpnProtocols: [ALPN],
    cert: await Deno.readTextFile(values.cert),
    key: await Deno.readTextFile(values.key),
    maxIdleTimeout: Number(values["idle-timeout-ms"]),
    maxConcurrentBidirectionalStreams: Number(values["max-streams"]),
    maxConcurrentUnidirectionalStreams: 0,
  });
  console.log(`Bare QUIC server listening on 127.0.0.1:${endpoint.addr.port}`);
  void answerMemoryRequests();
  await serve(listener);
}
