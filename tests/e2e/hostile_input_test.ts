/**
 * Hostile peers against a real relay: garbage, oversized and invalid control frames, streams and
 * datagrams before HELLO, bad service ids, a slow-loris HELLO and a handshake flood. In each case the
 * offender is closed or refused, an honest client on the same relay keeps completing requests, and
 * the relay's memory stays bounded.
 * @module
 */
import assert from "node:assert/strict";
import { encodeFrame, ERRORS } from "../../src/protocol/mod.ts";
import { Fixture, httpBackend } from "../_helpers/cluster.ts";
import { limitedRelay, type Scrape } from "../_helpers/limits.ts";
import { rssMiB } from "../_helpers/proc.ts";
import { closedWith, rawConnect, rawSession, rawStream } from "../_helpers/raw_peer.ts";
import type { ZtnaProcess } from "../_helpers/ztna_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/**
 * Relay RSS bound under attack: idle ≈ 105 MiB (with the admin endpoint and store); the 10,000
 * handshake flood peaked at ≈ 330 MiB on a loaded machine (each admitted QUIC connection costs
 * ≈ 240 KiB inside Deno until it is closed and collected).
 */
const RELAY_RSS_BOUND_MIB = 450;

/** Requests through the honest client's forward until stopped; every one must succeed. */
function honestTraffic(local: number) {
  let ok = 0;
  const failures: string[] = [];
  let stop = false;
  const running = (async () => {
    while (!stop) {
      const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
      try {
        const res = await fetch(`http://127.0.0.1:${local}/`, {
          client,
          signal: AbortSignal.timeout(10_000),
        });
        if ((await res.text()).startsWith("honest")) ok++;
        else failures.push(`status ${res.status}`);
      } catch (e) {
        failures.push(String(e));
      } finally {
        client.close();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    async finish() {
      stop = true;
      await running;
      return { ok, failures };
    },
  };
}

/**
 * Runs `attack` against a relay with an honest client busy the whole time; `scrape` reads the
 * relay's /metrics through its admin endpoint.
 */
async function underAttack(
  name: string,
  relayLimits: string,
  attack: (
    ctx: {
      fx: Fixture;
      relayPort: number;
      caPem: string;
      relay: ZtnaProcess;
      scrape: () => Promise<Scrape>;
    },
  ) => Promise<void>,
): Promise<void> {
  await using fx = await Fixture.create(name);
  const backend = httpBackend("honest");
  try {
    const { relayPort, relay, local, caPem, scrape } = await limitedRelay(
      fx,
      backend.port,
      relayLimits,
    );
    const traffic = honestTraffic(local);
    await new Promise((r) => setTimeout(r, 200));
    await attack({ fx, relayPort, caPem, relay, scrape });
    const { ok, failures } = await traffic.finish();
    assert.deepEqual(failures, [], "the honest client saw no failure");
    assert.ok(ok > 0, "the honest client completed requests during the attack");
    const rss = await rssMiB(relay.pid);
    assert.ok(rss < RELAY_RSS_BOUND_MIB, `relay RSS ${rss} MiB`);
  } finally {
    await backend.shutdown();
  }
}

Deno.test("relay closes a connection that sends garbage on its control stream", opts, async () => {
  await underAttack("garbage", "", async ({ relayPort, caPem }) => {
    for (let i = 0; i < 20; i++) {
      const conn = await rawConnect(relayPort, caPem);
      await rawStream(conn, crypto.getRandomValues(new Uint8Array(2_000)));
      const code = await closedWith(conn);
      assert.ok(code === "frame_too_large" || code === "protocol_error", `closed with ${code}`);
    }
  });
});

Deno.test(
  "relay closes a connection whose control frame is over 64 KiB: frame_too_large",
  opts,
  async () => {
    await underAttack("oversize", "", async ({ relayPort, caPem }) => {
      const conn = await rawConnect(relayPort, caPem);
      const { writer } = await rawStream(conn, Uint8Array.of(0, 1, 0x11, 0x70)); // 70,000 bytes announced
      writer.write(new Uint8Array(70_000)).catch(() => {});
      assert.equal(await closedWith(conn), "frame_too_large");
    });
  },
);

Deno.test(
  "relay closes a connection whose HELLO is not valid UTF-8: protocol_error",
  opts,
  async () => {
    await underAttack("utf8", "", async ({ relayPort, caPem }) => {
      const conn = await rawConnect(relayPort, caPem);
      await rawStream(conn, encodeFrame(Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d)));
      assert.equal(await closedWith(conn), "protocol_error");
    });
  },
);

Deno.test(
  "relay refuses streams and drops datagrams sent before HELLO, then still authenticates",
  opts,
  async () => {
    await underAttack("before-hello", "", async ({ fx, relayPort, caPem }) => {
      const conn = await rawConnect(relayPort, caPem);
      const control = await rawStream(conn, Uint8Array.of(0, 0)); // half a frame header: no HELLO yet
      const early = [];
      for (let i = 0; i < 5; i++) {
        early.push(await rawStream(conn, Uint8Array.of(0x10, 3, 0x77, 0x65, 0x62)));
      }
      for (let i = 0; i < 50; i++) {
        await conn.sendDatagram(Uint8Array.of(0, 0, 0, 1, 0x41)).catch(() => {});
      }
      for (const s of early) {
        const got = new Uint8Array(await new Response(s.stream.readable).arrayBuffer());
        assert.equal(got.byteLength, 0, "an early stream gets no answer, only its end");
      }
      // Finish the HELLO: the connection was not harmed by the early traffic.
      const token = (await fx.token("client")).token;
      const body = new TextEncoder().encode(
        JSON.stringify({ type: "hello", versions: [2], role: "client", token }),
      );
      const frame = encodeFrame(body);
      frame[0] = 0;
      frame[1] = 0;
      await control.writer.write(frame.subarray(2));
      const reader = control.stream.readable.getReader();
      const first = await reader.read();
      assert.ok(!first.done && new TextDecoder().decode(first.value).includes('"welcome"'));
      conn.close({ closeCode: 0, reason: "" });
    });
  },
);

Deno.test(
  "relay answers over-long and non-UTF-8 service ids with invalid_service_id, connection intact",
  opts,
  async () => {
    await underAttack("svc-ids", "", async ({ fx, relayPort, caPem }) => {
      const session = await rawSession(
        relayPort,
        caPem,
        (await fx.token("client", { services: ["*"] })).token,
      );
      const reply = async (bytes: Uint8Array) => {
        const { stream } = await rawStream(session.conn, bytes);
        const got = new Uint8Array(await new Response(stream.readable).arrayBuffer());
        return (got[1] << 8) | got[2];
      };
      assert.equal(
        await reply(Uint8Array.of(0x10, 64, ...new Uint8Array(64).fill(0x61))),
        ERRORS.invalid_service_id.wire,
      );
      assert.equal(
        await reply(Uint8Array.of(0x10, 3, 0xff, 0xfe, 0xfd)),
        ERRORS.invalid_service_id.wire,
      );
      assert.equal(
        await reply(Uint8Array.of(0x10, 3, 0x57, 0x45, 0x42)),
        ERRORS.invalid_service_id.wire,
      ); // "WEB"
      assert.equal(await closedWith(session.conn, 300), "open");
      session.conn.close({ closeCode: 0, reason: "" });
    });
  },
);

Deno.test("relay closes a slow-loris HELLO at its deadline: hello_timeout", opts, async () => {
  await underAttack("slowloris", "hello_timeout_ms = 1500", async (ctx) => {
    const { relayPort, caPem, relay, scrape } = ctx;
    const before = await scrape();
    const conn = await rawConnect(relayPort, caPem);
    // A plausible frame header (50 bytes to come), then the body one space at a time.
    const { writer } = await rawStream(conn, Uint8Array.of(0, 0, 0, 50));
    const t0 = Date.now();
    const drip = (async () => {
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 300));
        if (await writer.write(Uint8Array.of(0x20)).then(() => false, () => true)) return;
      }
    })();
    assert.equal(await closedWith(conn, 6_000), "hello_timeout");
    const took = Date.now() - t0;
    assert.ok(took >= 1_000 && took < 4_000, `closed after ${took} ms`);
    await drip;
    await relay.waitFor(/Refused connection: "?hello_timeout"? \(no HELLO in time\)/);
    const after = await scrape();
    assert.deepEqual(after.movedSince(before, "ztna_auth_failures_total"), { hello_timeout: 1 });
  });
});

Deno.test("relay survives 10,000 handshake attempts from one address", opts, async () => {
  const limits =
    "handshakes_per_second = 200\nhandshakes_per_second_per_source = 5\nhandshake_burst_per_source = 10";
  await underAttack("flood", limits, async ({ relayPort, caPem, relay, scrape }) => {
    const before = await scrape();
    const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.2", port: 0 });
    // How each attempt ended: refused before the handshake (the relay-wide rate), closed with
    // limit_exceeded right after it (the per-source rate), kept open, or anything else.
    const outcomes = { refused: 0, limited: 0, kept: 0, other: [] as string[] };
    let attempts = 0;
    const t0 = Date.now();
    const deadline = t0 + 90_000;
    const lateLooks: Promise<void>[] = [];
    const workers = Array.from({ length: 100 }, async () => {
      while (attempts < 10_000 && Date.now() < deadline) {
        attempts++;
        let conn: Deno.QuicConn;
        try {
          conn = await rawConnect(relayPort, caPem, { endpoint, idleTimeoutMs: 2_000 });
        } catch (e) {
          if (/refused to accept a new connection/.test(String(e))) outcomes.refused++;
          else outcomes.other.push(String(e));
          continue;
        }
        // The relay closes an over-rate source right after the handshake; on a loaded machine
        // that close can take a while to arrive, or be lost. A connection still open after a
        // second is asked whether the relay serves it: garbage on a control stream gets a coded
        // close from a relay that kept it (kept), limit_exceeded if its close was late (limited),
        // and no answer at all if the relay had closed it and the close was lost (other).
        const code = await closedWith(conn, 1_000);
        if (code === "open") {
          lateLooks.push((async () => {
            await rawStream(conn, new Uint8Array(64).fill(0xff)).catch(() => {});
            const late = await closedWith(conn, 5_000);
            if (late === "limit_exceeded") outcomes.limited++;
            else if (late === "no_code" || late === "open") outcomes.other.push(`late ${late}`);
            else outcomes.kept++;
            conn.close({ closeCode: 0, reason: "" });
          })());
          continue;
        }
        if (code === "limit_exceeded") outcomes.limited++;
        else outcomes.other.push(code);
        conn.close({ closeCode: 0, reason: "" });
      }
    });
    await Promise.all(workers);
    const seconds = (Date.now() - t0) / 1_000;
    await Promise.all(lateLooks);
    endpoint.close();
    const after = await scrape();
    const moved = after.movedSince(before, "ztna_rate_limited_total");
    const summary = `${JSON.stringify(outcomes)} of ${attempts} attempts in ${seconds} s; ` +
      `the relay counted ${JSON.stringify(moved)}`;
    console.log(summary);
    assert.equal(attempts, 10_000, summary);
    // Under this flood some closes never reach the client (its one UDP socket drops packets when
    // 100 attempts share it): those connections end without a code. At most 1 % of attempts, and
    // each must be a close the relay counted for the source (the per-source check below).
    assert.ok(outcomes.other.length <= 100, summary);
    assert.ok(outcomes.other.every((o) => /no_code/.test(o)), summary);
    assert.equal(
      outcomes.refused + outcomes.limited + outcomes.kept + outcomes.other.length,
      attempts,
      summary,
    );
    // Relay-wide: a burst of 200 handshakes, then 200 a second get past the cheap refusal.
    assert.ok(outcomes.refused > 0, summary);
    assert.ok(outcomes.limited + outcomes.kept <= 200 + 200 * seconds, summary);
    // Per source: a burst of 10, then 5 a second keep their connection.
    assert.ok(outcomes.limited > 0, summary);
    assert.ok(outcomes.kept >= 10 && outcomes.kept <= 10 + 5 * seconds + 1, summary);
    // Each refusal is counted under the limit that made it; limits_test.ts checks the exact counts
    // at a small scale. Under this flood on a loaded machine the two sides may disagree about a few
    // attempts at the edges: before the handshake the relay counts refused Initial packets, and
    // when it lags more than the client's retransmit timeout (~1 s) a retransmitted Initial of the
    // same attempt is counted again, or accepted and then closed for its source while the client
    // already took the first refusal (Deno's QuicIncoming shows no connection id).
    assert.deepEqual(Object.keys(moved).sort(), ["handshakes_per_source", "handshakes_total"]);
    const near = (counted: number, seen: number) =>
      Math.abs(counted - seen) <= Math.max(3, seen * 0.01);
    assert.ok(
      moved.handshakes_total >= outcomes.refused && near(moved.handshakes_total, outcomes.refused),
      `${moved.handshakes_total} refusals before the handshake counted; ${summary}`,
    );
    assert.ok(
      near(moved.handshakes_per_source, outcomes.limited + outcomes.other.length),
      `${moved.handshakes_per_source} closes for the source counted; ${summary}`,
    );
    assert.deepEqual(after.movedSince(before, "ztna_auth_failures_total"), {}, summary);
    await relay.waitFor(
      /Refused \d+ connection\(s\) before the handshake: "?limit_exceeded"? \("?handshakes_per_second = 200/,
    );
    await relay.waitFor(
      /Refused \d+ connection\(s\) right after the handshake: "?limit_exceeded"? \("?handshakes_per_second_per_source = 5 after a burst of 10/,
    );
  });
});
