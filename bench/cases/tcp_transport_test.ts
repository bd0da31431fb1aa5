/**
 * Unit test of case 12's summary and targets: ratios pair ztna over TCP with each path per
 * repetition, and issue 17's targets read the right rows.
 * @module
 */
import assert from "node:assert/strict";
import type { TransportPathId, TransportRep } from "../results_schema.ts";
import { judgeTargets } from "../targets.ts";
import { summarizeTransport, TRANSPORT_PATHS } from "./tcp_transport.ts";

function rep(path: TransportPathId, n: number, mbps: number, p50Us: number): TransportRep {
  const t = { bytes: 1e6, ms: 1, mbps };
  const rt = { warmup: 1, p50Us, p99Us: p50Us * 4, minUs: 1, maxUs: p50Us * 5, samplesUs: [p50Us] };
  return {
    path,
    rep: n,
    position: 0,
    upload: t,
    download: t,
    parallelUpload: { ...t, flows: 16 },
    parallelDownload: { ...t, flows: 16 },
    roundTrips: rt,
  };
}

/** TCP at `tcp` Mbit/s and 200 µs; QUIC 500 Mbit/s at 400 µs; the others 1,000 at 300 µs. */
function sample(tcp: number) {
  const runs = [1, 2].flatMap((n) =>
    TRANSPORT_PATHS.map((p) =>
      p.id === "tcp"
        ? rep("tcp", n, tcp, 200)
        : p.id === "quic"
        ? rep("quic", n, 500, 400)
        : rep(p.id, n, 1_000, 300)
    )
  );
  const firstBytes = TRANSPORT_PATHS.map((p) => ({
    path: p.id,
    rep: 1,
    firstByteMs: p.id === "tcp" ? 2 : 1,
    attempts: 1,
  }));
  return summarizeTransport(TRANSPORT_PATHS, 16, runs, firstBytes, []);
}

Deno.test("case 12: ratios are ztna over TCP ÷ each other path", () => {
  const t = sample(1_100);
  assert.deepEqual(t.ratios.map((r) => r.baseline), ["quic", "pipe", "sshJ", "stunnel"]);
  const quic = t.ratios.find((r) => r.baseline === "quic");
  assert.equal(quic?.uploadMbps.median, 2.2);
  assert.equal(quic?.p50Us.median, 0.5);
  assert.equal(quic?.firstByteMs.median, 2);
  assert.equal(t.summary.tcp?.downloadMbps.median, 1_100);
});

Deno.test("case 12: issue 17's targets pass ahead of ssh -J and miss at its level", () => {
  const ahead = judgeTargets({ transport: sample(1_100) }).filter((x) => x.case === "transport");
  assert.equal(ahead.length, 7);
  assert.ok(ahead.every((x) => x.result === "PASS"), JSON.stringify(ahead));
  const level = judgeTargets({ transport: sample(1_000) });
  const misses = level.filter((x) => x.result === "MISS").map((x) => x.name);
  assert.equal(misses.length, 4, misses.join("; "));
  assert.ok(misses.every((n) => n.includes("ssh -J")));
  const slow = judgeTargets({ transport: sample(600) });
  assert.ok(slow.some((x) => x.name.includes("QUIC, 1-flow upload") && x.result === "MISS"));
});
