/**
 * Handshake floods and relay memory (issue 15): repeated floods under the shipped limits leave the
 * relay's RSS within a stated bound of its pre-flood level. Each accepted handshake grows RSS by
 * ~35 KiB while floods follow each other; no V8 major GC runs meanwhile and 60 s of quiet return
 * nothing to the OS (glibc keeps freed heap).
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";
import { RELAY_ENV } from "../../src/relay/memory_tuning.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Resident memory of `pid` in MiB (cat: /proc needs --allow-all in Deno). */
async function rssMiB(pid: number): Promise<number> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/status`] }).output();
  const m = /VmRSS:\s+(\d+)/.exec(new TextDecoder().decode(out.stdout));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}

/** `attempts` QUIC handshakes, 100 at a time from one endpoint, each closed at once. */
async function flood(port: number, ca: string, attempts: number): Promise<void> {
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  let started = 0;
  await Promise.all(Array.from({ length: 100 }, async () => {
    while (started < attempts) {
      started++;
      try {
        const conn = await Deno.connectQuic({
          endpoint,
          hostname: "127.0.0.1",
          port,
          serverName: "localhost",
          alpnProtocols: ["ztna-v2"],
          caCerts: [ca],
          maxIdleTimeout: 2_000,
        });
        conn.close({ closeCode: 0, reason: "" });
      } catch { /* refused before the handshake: the relay's rate limit */ }
    }
  }));
  endpoint.close();
}

Deno.test(
  "handshake floods: six floods leave the relay's RSS within 300 MiB of its pre-flood level",
  opts,
  async () => {
    await using fx = await Fixture.create("flood-memory");
    const port = freeUdpPort();
    const config = await fx.config(`
[intermediate]
listen = "127.0.0.1:${port}"
cert = "${fx.pki.certPath}"
key = "${fx.pki.keyPath}"
token_public_keys = ["${fx.signing.publicPath}"]
[intermediate.admin]
enabled = false
`);
    // As `deno task relay` runs it (deno.json), shipped limits.
    const relay = fx.spawn(["--role=intermediate", "--config", config], "relay", {
      env: { ...RELAY_ENV },
    });
    await relay.waitFor(/Relay listening on/);
    const ca = await Deno.readTextFile(fx.pki.caCertPath);
    await new Promise((r) => setTimeout(r, 1_000));
    const base = await rssMiB(relay.pid);
    const after: number[] = [];
    for (let i = 0; i < 6; i++) {
      await flood(port, ca, 700);
      // Connections closed and sessions released; the next flood then reuses what they freed.
      await new Promise((r) => setTimeout(r, 2_500));
      after.push(await rssMiB(relay.pid));
    }
    const detail = `base ${base.toFixed(0)} MiB, after each flood ${
      after.map((m) => m.toFixed(0)).join(", ")
    } MiB`;
    // The stated bound (docs/OPERATIONS.md, "Relay memory"): six floods under the shipped
    // handshake limits leave the relay within 300 MiB of its pre-flood level. Whether it then
    // levels off depends on the pace of the floods (issue 15: levelled off at 4 s pauses, still
    // rising ~26 MiB per flood at 2.5 s pauses); that check waits for the root cause.
    assert.ok(Math.max(...after) - base < 300, detail);
  },
);
