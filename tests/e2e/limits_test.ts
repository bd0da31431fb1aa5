/**
 * The relay's connection-level limits biting, each against real processes set to a small value:
 * max_connections, max_connections_per_identity, handshakes_per_second, the per-source handshake
 * rate with its burst, and registrations_per_minute_per_identity. Every test drives a peer past the
 * limit and checks the refusal on the wire, the reason in the relay's log, the exact move of the
 * labelled counter in /metrics, and that an honest client on the same relay is still served.
 * Flow and datagram limits: limits_flows_test.ts.
 * @module
 */
import assert from "node:assert/strict";
import { backendBehind, Fixture, httpBackend } from "../_helpers/cluster.ts";
import { LIMIT_TEST, limitedRelay, sleep } from "../_helpers/limits.ts";
import { closedWith, rawConnect, rawHello, rawSession } from "../_helpers/raw_peer.ts";

/** What Deno's QUIC client says when the relay refuses a connection before the handshake. */
const REFUSED_BEFORE_HANDSHAKE = /refused to accept a new connection/;

Deno.test(
  "max_connections: the connection beyond it is refused before the handshake",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("lim-maxconn");
    const backend = httpBackend("honest");
    try {
      // The honest connector and client hold two of the three connections (one each: no lane).
      const noLane = { extra: "tcp_lane = false" };
      const w = await limitedRelay(fx, backend.port, "max_connections = 3", {
        connector: noLane,
        client: noLane,
      });
      const third = await rawConnect(w.relayPort, w.caPem);
      // The relay counts a connection once its handshake is done: wait until it holds the third.
      const before = await w.settle("ztna_connections_open", { role: "pending" }, 1);
      for (let i = 0; i < 2; i++) {
        await assert.rejects(rawConnect(w.relayPort, w.caPem), REFUSED_BEFORE_HANDSHAKE);
      }
      await w.relay.waitFor(
        /Refused \d+ connection\(s\) before the handshake: "?relay_overloaded"? \("?max_connections = 3/,
      );
      const after = await w.scrape();
      assert.deepEqual(after.movedSince(before, "ztna_auth_failures_total"), {
        relay_overloaded: 2,
      });
      await w.honestServed();
      // A freed slot is taken again.
      third.close({ closeCode: 0, reason: "" });
      await w.settle("ztna_connections_open", { role: "pending" }, 0);
      const again = await rawConnect(w.relayPort, w.caPem);
      again.close({ closeCode: 0, reason: "" });
    } finally {
      await backend.shutdown();
    }
  },
);

Deno.test(
  "max_connections_per_identity: the identity's next HELLO is refused with limit_exceeded",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("lim-peridentity");
    const backend = httpBackend("honest");
    try {
      const w = await limitedRelay(fx, backend.port, "max_connections_per_identity = 2");
      const alice = await fx.token("client", { subject: "alice" });
      const held = [
        await rawSession(w.relayPort, w.caPem, alice.token),
        await rawSession(w.relayPort, w.caPem, alice.token),
      ];
      const before = await w.scrape();
      assert.equal(
        await rawHello(w.relayPort, fx.pki.caCertPath, "client", alice.token),
        "limit_exceeded",
      );
      await w.relay.waitFor(
        /Refused connection: "?limit_exceeded"? \(too many connections for this identity\)/,
      );
      const after = await w.scrape();
      assert.deepEqual(after.movedSince(before, "ztna_auth_failures_total"), { limit_exceeded: 1 });
      assert.equal(after.since(before, "ztna_connections_total", { role: "client" }), 0);
      // Another identity is not affected, and alice's held connections stay open.
      await w.honestServed();
      for (const s of held) assert.equal(await closedWith(s.conn, 100), "open");
      // Once one of alice's connections ends, her next one is welcome again.
      held[0].conn.close({ closeCode: 0, reason: "" });
      await w.settle("ztna_connections_open", { role: "client" }, 2);
      assert.equal(
        await rawHello(w.relayPort, fx.pki.caCertPath, "client", alice.token),
        "welcome",
      );
      held[1].conn.close({ closeCode: 0, reason: "" });
    } finally {
      await backend.shutdown();
    }
  },
);

Deno.test(
  "handshakes_per_second: handshakes beyond the relay-wide rate are refused before any crypto",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("lim-handshakes");
    const backend = httpBackend("honest");
    try {
      // The per-source limit is out of the way, so every refusal here is the relay-wide one.
      const w = await limitedRelay(
        fx,
        backend.port,
        "handshakes_per_second = 2\nhandshakes_per_second_per_source = 1000\nhandshake_burst_per_source = 1000",
      );
      await sleep(1_100); // the bucket (2 tokens) refills after the honest peers' handshakes
      const before = await w.scrape();
      const t0 = Date.now();
      const attempts = await Promise.allSettled(
        Array.from({ length: 10 }, () => rawConnect(w.relayPort, w.caPem)),
      );
      const elapsed = (Date.now() - t0) / 1_000;
      const admitted = attempts.flatMap((a) => a.status === "fulfilled" ? [a.value] : []);
      const refused = attempts.flatMap((a) => a.status === "rejected" ? [a.reason] : []);
      for (const e of refused) assert.match(String(e), REFUSED_BEFORE_HANDSHAKE);
      // A burst of 2, then 2 a second while the attempts last.
      assert.ok(
        admitted.length >= 1 && admitted.length <= 2 + Math.ceil(2 * elapsed),
        `${admitted.length} of 10 admitted in ${elapsed} s`,
      );
      await w.relay.waitFor(
        /Refused \d+ connection\(s\) before the handshake: "?limit_exceeded"? \("?handshakes_per_second = 2/,
      );
      const after = await w.scrape();
      assert.deepEqual(after.movedSince(before, "ztna_rate_limited_total"), {
        handshakes_total: refused.length,
      });
      await w.honestServed();
      for (const c of admitted) c.close({ closeCode: 0, reason: "" });
    } finally {
      await backend.shutdown();
    }
  },
);

Deno.test(
  "handshakes_per_second_per_source: one source beyond its burst is closed with limit_exceeded, others connect",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("lim-persource");
    const backend = httpBackend("honest");
    try {
      // 127.0.0.1 spends two of its four on the honest connector and client.
      const w = await limitedRelay(
        fx,
        backend.port,
        "handshakes_per_second_per_source = 1\nhandshake_burst_per_source = 4",
      );
      const before = await w.scrape();
      // Another loopback address acts as another host.
      const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.2", port: 0 });
      const t0 = Date.now();
      const outcomes: string[] = [];
      const conns: Deno.QuicConn[] = [];
      try {
        for (let i = 0; i < 10; i++) {
          const conn = await rawConnect(w.relayPort, w.caPem, { endpoint });
          conns.push(conn);
          outcomes.push(await closedWith(conn, 300));
        }
        const elapsed = (Date.now() - t0) / 1_000;
        const kept = outcomes.filter((o) => o === "open").length;
        const limited = outcomes.filter((o) => o === "limit_exceeded").length;
        assert.equal(kept + limited, 10, `outcomes ${outcomes.join(",")}`);
        assert.deepEqual(outcomes.slice(0, 4), ["open", "open", "open", "open"], "the burst");
        assert.ok(kept <= 4 + Math.ceil(elapsed), `${kept} kept in ${elapsed} s`);
        await w.relay.waitFor(
          /Refused \d+ connection\(s\) right after the handshake: "?limit_exceeded"? \("?handshakes_per_second_per_source = 1 after a burst of 4/,
        );
        assert.doesNotMatch(w.relay.output, /127\.0\.0\.2/, "no peer address at info (I1)");
        const after = await w.scrape();
        assert.deepEqual(after.movedSince(before, "ztna_rate_limited_total"), {
          handshakes_per_source: limited,
        });
        // While 127.0.0.2 is held back, a new honest client from 127.0.0.1 connects and is served.
        const local = (await fx.attach([w.relayPort], backend.port)).local;
        assert.equal(await backendBehind(local), "honest");
        await w.honestServed();
      } finally {
        for (const c of conns) c.close({ closeCode: 0, reason: "" });
        endpoint.close();
      }
    } finally {
      await backend.shutdown();
    }
  },
);

Deno.test(
  "registrations_per_minute_per_identity: registrations beyond it are NACKed limit_exceeded",
  LIMIT_TEST,
  async () => {
    await using fx = await Fixture.create("lim-registrations");
    const backend = httpBackend("honest");
    try {
      // One link per connector: a TCP lane would register every service a second time.
      const noLane = { extra: "tcp_lane = false" };
      const w = await limitedRelay(fx, backend.port, "registrations_per_minute_per_identity = 2", {
        connector: noLane,
        client: noLane,
      });
      const before = await w.scrape();
      const services = ["svc-a", "svc-b", "svc-c", "svc-d"];
      const target = `127.0.0.1:${backend.port}`;
      const greedy = await fx.connector(
        [w.relayPort],
        Object.fromEntries(services.map((s) => [s, target])),
        (await fx.token("connector", { services })).path,
        noLane,
      );
      // Registered in config order: the first two within the rate, the other two refused.
      await greedy.waitFor(/Relay refused to register service "?svc-d"?: "?limit_exceeded/);
      assert.match(greedy.output, /Relay refused to register service "?svc-c"?: "?limit_exceeded/);
      assert.match(greedy.output, /Registered service "?svc-a/);
      assert.match(greedy.output, /Registered service "?svc-b/);
      await w.relay.waitFor(/Refused registration of "?svc-d"?: "?limit_exceeded/);
      const after = await w.scrape();
      assert.deepEqual(after.movedSince(before, "ztna_rate_limited_total"), {
        registrations_per_identity: 2,
      });
      assert.deepEqual(after.movedSince(before, "ztna_registrations_total"), {
        ack: 2,
        limit_exceeded: 2,
      });
      // Another connector identity still registers, and the honest client is served.
      const other = await fx.connector(
        [w.relayPort],
        { "svc-c": target },
        (await fx.token("connector", { services: ["svc-c"] })).path,
      );
      assert.match(other.output, /Registered service "?svc-c/);
      await w.honestServed();
    } finally {
      await backend.shutdown();
    }
  },
);
