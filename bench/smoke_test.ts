/**
 * Smoke test of the benchmark harness, run by `deno task test`: `bench/run.ts --smoke` with tiny
 * sizes must measure every case — direct TCP, the QUIC pipe, ztna, the QUIC datagram hop, the bare
 * QUIC server, the connector without its sandbox, ztna's direct (P2P) path, and ssh/stunnel when
 * installed (they are skipped, with the reason in the output, when not; the smoke run never installs
 * packages) — and write a JSON file its zod schema accepts, with a number for every figure.
 * @module
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "../tests/_helpers/ztna_process.ts";
import { BenchResult, type IdleStep } from "./results_schema.ts";

/** The smoke run takes about 40 s on the 2-core machine; past this it is stopped (SIGTERM). */
const TIMEOUT_MS = 100_000;

async function runSmoke(outDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-P=bench",
      "--config",
      `${REPO_ROOT}/deno.json`,
      `${REPO_ROOT}/bench/run.ts`,
      "--smoke",
      "--out",
      outDir,
    ],
    cwd: REPO_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  // SIGTERM makes the bench stop every process it started; SIGKILL only if that hangs.
  const term = setTimeout(() => child.kill("SIGTERM"), TIMEOUT_MS);
  const kill = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, TIMEOUT_MS + 15_000);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    clearTimeout(term);
    clearTimeout(kill);
  }
}

Deno.test("bench --smoke measures every case and writes JSON its schema accepts", async () => {
  const outDir = await Deno.makeTempDir({ prefix: "ztna-bench-smoke-" });
  try {
    const { code, stdout, stderr } = await runSmoke(outDir);
    assert.equal(code, 0, `bench --smoke failed:\n${stderr}`);
    const files = [...Deno.readDirSync(outDir)].map((e) => e.name).filter((n) =>
      n.endsWith(".json")
    );
    assert.equal(files.length, 1, `one result file expected, found ${files.join(", ")}`);
    const result = BenchResult.parse(JSON.parse(await Deno.readTextFile(`${outDir}/${files[0]}`)));
    assert.equal(await Deno.readTextFile(`${outDir}/latest.md`), result.markdown);
    assert.ok(stdout.includes("### Targets"), "the markdown is printed");
    assert.deepEqual(result.cases, ["tcp", "ttfb", "relay", "udp", "sandbox", "direct"]);

    const { tcp, ttfb, relay, udp, sandbox, direct } = result;
    assert.ok(tcp && ttfb && relay && udp && sandbox && direct, "every case has results");
    const positive = (what: string, n: number | undefined) =>
      assert.ok(n !== undefined && Number.isFinite(n) && n > 0, `${what}: ${n}`);

    // Cases 1–2: every path that ran has every metric.
    const tcpPaths = tcp.paths.map((p) => p.id);
    for (const id of ["direct", "pipe", "ztna"] as const) assert.ok(tcpPaths.includes(id), id);
    for (const id of tcpPaths) {
      const s = tcp.summary[id];
      for (const [metric, spread] of Object.entries(s ?? {})) {
        positive(`tcp ${id} ${metric}`, spread.median);
      }
    }
    assert.equal(tcp.ratios.length, tcpPaths.length - 1);

    // Baselines that need Debian packages ran, or were skipped because a program is missing.
    const sshSkipped = result.skipped.find((s) => s.what.startsWith("ssh"));
    const stunnelSkipped = result.skipped.find((s) => s.what.startsWith("stunnel"));
    for (const s of result.skipped) {
      assert.match(s.why, /not installed|not used by --smoke/);
      assert.ok(result.markdown.includes(s.why), "skips are said in the report");
    }
    assert.equal(tcpPaths.includes("sshL") && tcpPaths.includes("sshJ"), !sshSkipped);
    assert.equal(tcpPaths.includes("stunnel"), !stunnelSkipped);

    // Case 3.
    positive("ttfb ztna", ttfb.summary.ztna?.firstByteMs.median);
    if (!sshSkipped) positive("ttfb ssh -L", ttfb.summary.sshL?.firstByteMs.median);

    // Case 4.
    positive("handshakes/s ztna", relay.handshakes.summary.ztna?.median);
    positive("handshakes/s bare", relay.handshakes.summary.bare?.median);
    for (const server of ["ztna", "bare"] as const) {
      const steps: IdleStep[] = relay.idle.steps.filter((s) => s.server === server);
      assert.ok(steps.length > 0, `idle ${server}`);
      for (const s of steps) {
        assert.equal(s.open, s.step, `${server} held every idle connection`);
        positive(`${server} RSS`, s.serverRssKiB);
      }
    }
    positive("relay MiB at 10k", relay.idle.relayMiBAt10k);

    // Case 5.
    for (const id of ["direct", "hop", "pipe", "udp-pipe", "ztna"] as const) {
      positive(`udp ${id} max`, udp.summary[id]?.maxPps.median);
      positive(`udp ${id} paced`, udp.summary[id]?.pacedPps.median);
    }
    positive("udp ratio", udp.ratio.median);
    positive("udp ratio vs pipe", udp.ratioPipe?.median);
    positive("udp ratio vs udp pipe", udp.ratioUdpPipe?.median);

    // Case 6.
    for (const id of ["worker", "main"] as const) {
      positive(`sandbox ${id} upload`, sandbox.summary[id]?.uploadMbps.median);
      positive(`sandbox ${id} p50`, sandbox.summary[id]?.p50Us.median);
      positive(`sandbox ${id} RSS`, sandbox.summary[id]?.connectorRssKiB);
    }

    // Case 7: the direct path was up, carried its runs without the relay, and has every figure.
    positive("direct ttfb, any path", direct.ttfb.summary.firstByteMs.median);
    positive("direct ttfb, direct path", direct.ttfb.summary.directFirstByteMs.median);
    for (const id of ["direct", "relay", "pipe"] as const) {
      for (const [metric, spread] of Object.entries(direct.summary[id] ?? {})) {
        positive(`direct case ${id} ${metric}`, spread.median);
      }
      assert.ok(direct.summary[id], `direct case ${id}`);
    }
    assert.deepEqual(direct.ratios.map((r) => r.baseline), ["relay", "pipe"]);
    assert.equal(direct.verified.relayedFlowsDuringDirect, 0);
    assert.ok(direct.verified.relayedBytesDuringDirect < direct.verified.directBytesMoved / 100);
    assert.ok(direct.verified.relayedBytesDuringRelay >= direct.verified.relayBytesMoved);
    assert.ok(result.markdown.includes("### 7. Direct (P2P) path"));

    // Every target has a verdict.
    assert.ok(result.targets.length >= 5);
    for (const t of result.targets) assert.ok(t.value === null || Number.isFinite(t.value), t.name);
  } finally {
    await Deno.remove(outDir, { recursive: true }).catch(() => {});
  }
});
