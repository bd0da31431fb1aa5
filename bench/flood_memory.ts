/**
 * Relay memory after handshake floods (issue 15): leak, or the allocator's high-water mark? Run by
 * hand (needs gdb, root or ptrace rights): `deno run -P=bench bench/flood_memory.ts`.
 *
 * Against each server, fresh, the same floods (`--floods` × `--attempts` QUIC handshakes, 100 at a
 * time from one endpoint, each closed at once, `--pause-ms` apart; tests/e2e/relay_flood_memory_test.ts
 * does the same under the shipped limits):
 * - `relay`: the relay as `deno task relay` runs it (allocator tuning), limits raised so every
 *   handshake completes, as on the bare server;
 * - `relay-arena2`: the same with glibc's `arena_max=2` (fewer malloc arenas to keep memory in);
 * - `bare`: a bare Deno QUIC server with the relay's ALPN, idle timeout and stream limit
 *   (bench/baselines/quic_bare_server.ts), same tuning.
 *
 * Read for each: RSS before, after every flood, and after 10 s of quiet; the V8 heap (`--trace-gc`
 * lines; the bare server also prints Deno.memoryUsage()); glibc's own account via gdb —
 * `malloc_stats()` (bytes the allocator holds from the system vs bytes in use by the program) —
 * then `malloc_trim(0)` and RSS again; then the same floods once more, to see whether RSS climbs
 * past its earlier peak (a leak) or refills what it had (a high-water mark).
 * @module
 */
import { parseArgs } from "node:util";
import { Fixture, freeUdpPort } from "../tests/_helpers/cluster.ts";
import { ALPN } from "../src/protocol/constants.ts";
import { BARE_READY } from "./baselines/quic_bare_server.ts";
import { denoScript, type HelperProcess } from "./helper_process.ts";
import { rssKiB } from "./proc_stats.ts";
import { knownLimits, RELAY_ENV, startRelay, UNLIMITED } from "./ztna_nodes.ts";

/** glibc's totals from `malloc_stats()`, in KiB. */
export interface MallocTotals {
  systemKiB: number;
  inUseKiB: number;
}

/** Parses the "Total (incl. mmap)" block `malloc_stats()` prints to stderr. */
export function parseMallocStats(text: string): MallocTotals | undefined {
  const m = /Total \(incl\. mmap\):\s*\nsystem bytes\s*=\s*(\d+)\s*\nin use bytes\s*=\s*(\d+)/
    .exec(text);
  return m ? { systemKiB: Number(m[1]) / 1024, inUseKiB: Number(m[2]) / 1024 } : undefined;
}

/** V8 heap after the last GC in `--trace-gc` output ("... -> 14.8 (19.5) MB"), in MiB. */
export function lastGcHeapMiB(text: string): { usedMiB: number; committedMiB: number } | undefined {
  const all = [...text.matchAll(/-> ([\d.]+) \(([\d.]+)\) MB/g)];
  const last = all.at(-1);
  return last ? { usedMiB: Number(last[1]), committedMiB: Number(last[2]) } : undefined;
}

async function gdb(pid: number, expressions: string[]): Promise<void> {
  const args = ["-p", String(pid), "-batch", "-nx", ...expressions.flatMap((e) => ["-ex", e])];
  const out = await new Deno.Command("timeout", {
    args: ["30", "gdb", ...args],
    stdout: "null",
    stderr: "null",
  }).output();
  if (!out.success) throw new Error(`gdb ${expressions.join("; ")} on ${pid} failed`);
}

/** Runs malloc_stats() in `p` and parses what it printed. */
async function mallocStats(p: HelperProcess): Promise<MallocTotals | undefined> {
  const mark = p.mark();
  await gdb(p.pid, ["call (void)malloc_stats()"]);
  const m = await p.waitFor(/Total \(incl\. mmap\):[^]*?in use bytes\s*=\s*\d+/, 5_000, mark)
    .catch(() => undefined);
  return m ? parseMallocStats(m[0]) : undefined;
}

/** `attempts` handshakes, 100 at a time from one endpoint, each closed at once. */
async function flood(port: number, ca: string, attempts: number): Promise<number> {
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  let started = 0;
  let completed = 0;
  await Promise.all(Array.from({ length: 100 }, async () => {
    while (started < attempts) {
      started++;
      try {
        const conn = await Deno.connectQuic({
          endpoint,
          hostname: "127.0.0.1",
          port,
          serverName: "localhost",
          alpnProtocols: [ALPN],
          caCerts: [ca],
          maxIdleTimeout: 2_000,
        });
        completed++;
        conn.close({ closeCode: 0, reason: "" });
      } catch { /* refused or timed out: counted by its absence */ }
    }
  }));
  endpoint.close();
  return completed;
}

const mib = (kib: number | undefined) => kib === undefined ? NaN : Math.round(kib / 102.4) / 10;

async function study(
  fx: Fixture,
  kind: "relay" | "relay-arena2" | "bare",
  o: { floods: number; attempts: number; pauseMs: number },
): Promise<Record<string, unknown>> {
  // DENO_V8_FLAGS is a comma-separated list.
  const v8 = `${RELAY_ENV.DENO_V8_FLAGS},--trace-gc`;
  const port = freeUdpPort();
  let server: HelperProcess;
  if (kind === "bare") {
    server = denoScript("bench/baselines/quic_bare_server.ts", [
      `--cert=${fx.pki.certPath}`,
      `--key=${fx.pki.keyPath}`,
    ], {
      name: "bare QUIC server",
      flags: ["--allow-net=127.0.0.1", `--allow-read=${fx.dir}`],
      env: { ...RELAY_ENV, DENO_V8_FLAGS: v8 },
      stdin: "piped",
    });
    await server.waitFor(BARE_READY, 30_000);
  } else {
    server = await startRelay(fx, {
      name: `flood-${kind}`,
      port,
      limits: knownLimits(UNLIMITED),
      idleTimeoutMs: 3_000,
      env: {
        DENO_V8_FLAGS: v8,
        ...(kind === "relay-arena2"
          ? { GLIBC_TUNABLES: `${RELAY_ENV.GLIBC_TUNABLES}:glibc.malloc.arena_max=2` }
          : {}),
      },
    });
  }
  await using _ = server;
  const serverPort = kind === "bare" ? Number((await server.waitFor(BARE_READY))[1]) : port;
  const ca = await Deno.readTextFile(fx.pki.caCertPath);
  const rss = async () => mib(await rssKiB(server.pid));
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await wait(1_500);
  const base = await rss();
  const baseMalloc = await mallocStats(server);
  const rounds = async () => {
    const after: number[] = [];
    let completed = 0;
    for (let i = 0; i < o.floods; i++) {
      completed += await flood(serverPort, ca, o.attempts);
      await wait(o.pauseMs);
      after.push(await rss());
    }
    return { after, completed };
  };
  const first = await rounds();
  await wait(10_000);
  const quiet = await rss();
  const heap = lastGcHeapMiB(server.output);
  let jsHeap: unknown;
  if (kind === "bare") {
    const mark = server.mark();
    await server.sendLine("mem");
    jsHeap = JSON.parse((await server.waitFor(/Memory (\{.*\})/, 5_000, mark))[1]);
  }
  const beforeTrim = await mallocStats(server);
  await gdb(server.pid, ["call (int)malloc_trim(0)"]);
  await wait(500);
  const trimmed = await rss();
  const afterTrim = await mallocStats(server);
  const second = await rounds();
  await wait(10_000);
  const result = {
    kind,
    baseRssMiB: base,
    mallocBase: baseMalloc,
    firstRounds: first,
    quietRssMiB: quiet,
    v8HeapAfterLastGc: heap,
    denoMemoryUsage: jsHeap,
    mallocBeforeTrim: beforeTrim,
    rssAfterTrimMiB: trimmed,
    mallocAfterTrim: afterTrim,
    secondRounds: second,
    finalRssMiB: await rss(),
    finalMalloc: await mallocStats(server),
    v8HeapAtEnd: lastGcHeapMiB(server.output),
  };
  console.error(JSON.stringify(result));
  return result;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      floods: { type: "string", default: "6" },
      attempts: { type: "string", default: "1000" },
      "pause-ms": { type: "string", default: "2500" },
      only: { type: "string", default: "relay,bare,relay-arena2" },
    },
    strict: true,
  });
  const o = {
    floods: Number(values.floods),
    attempts: Number(values.attempts),
    pauseMs: Number(values["pause-ms"]),
  };
  await using fx = await Fixture.create("flood-memory");
  const results = [];
  for (const kind of values.only.split(",")) {
    if (kind !== "relay" && kind !== "bare" && kind !== "relay-arena2") {
      throw new RangeError(`Cannot study '${kind}': expected relay, relay-arena2 or bare`);
    }
    results.push(await study(fx, kind, o));
  }
  console.log(JSON.stringify(results, null, 1));
}
