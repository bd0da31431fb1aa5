/**
 * A direct (P2P) path lives no longer than its client's token allows, with or without a relay
 * session: expiry, revocation (also while the connector was away from the relay), the maximum path
 * lifetime, the ticket's one service. The client here is an attacker's, built from the project's own
 * code minus the wait for a relay session; the honest client renews its path and keeps its flows.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort } from "../_helpers/cluster.ts";
import { closedWith, rawHello } from "../_helpers/raw_peer.ts";
import { tcpServer, type TestServer } from "../_helpers/tcp.ts";
import {
  brokerDirectPath,
  dialDirect,
  directForward,
  HeldFlow,
} from "../_helpers/direct_attacker.ts";
import { requestFlow } from "../../src/client/request_flow.ts";
import type { ZtnaProcess } from "../_helpers/ztna_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Echoes every byte back at once: a held flow answers each ping while it lives. */
function echoServer(): TestServer {
  return tcpServer(async (conn) => {
    await conn.readable.pipeTo(conn.writable).catch(() => {});
  });
}

/** A relay with `limits`, and a direct-capable connector serving `web` (and `db`) from an echo. */
async function directSetup(fx: Fixture, echo: TestServer, limits = "") {
  const relayPort = freeUdpPort();
  const relay = await fx.relay(relayPort, "", limits);
  const backend = `127.0.0.1:${echo.port}`;
  const connector = await fx.connector(
    [relayPort],
    { web: backend, db: backend },
    (await fx.token("connector", { services: ["web", "db"] })).path,
    { extra: "direct = true", logLevel: "debug" },
  );
  const caPem = await Deno.readTextFile(fx.pki.caCertPath);
  return { relayPort, relay, connector, caPem };
}

/** Milliseconds from now until `at`, at least 0. */
const until = (at: number) => Math.max(0, at - Date.now());

Deno.test(
  "direct path: ends at the token's expiry with the relay session gone; nothing new after",
  opts,
  async () => {
    await using fx = await Fixture.create("direct-expiry");
    const echo = echoServer();
    try {
      const { relayPort, caPem, connector } = await directSetup(fx, echo);
      const tok = await fx.token("client", { ttlSeconds: 8 });
      const path = await brokerDirectPath(relayPort, caPem, tok.token);
      // The attacker drops its relay session at once: from here the relay cannot close anything.
      path.session.conn.close({ closeCode: 0, reason: "" });
      const forward = directForward(path.conn);
      const held = await HeldFlow.open(forward.port);
      assert.ok(await held.ping("before expiry"), "a held flow answers before expiry");
      const expiresAt = path.expiresAt;
      assert.ok(expiresAt <= Date.now() + 8_000, "the path ends no later than the token");
      // A new flow just before the end still works.
      await new Promise((r) => setTimeout(r, until(expiresAt - 1_500)));
      const late = await HeldFlow.open(forward.port);
      assert.ok(await late.ping("late but in time"));
      // At the token's exp the connector closes the path, with the held flows on it.
      assert.equal(await closedWith(path.conn, until(expiresAt) + 2_000), "token_expired");
      const closedAfterMs = Date.now() - expiresAt;
      assert.ok(closedAfterMs < 1_500, `closed ${closedAfterMs} ms after exp`);
      assert.equal(await held.ping("after expiry", 1_500), false);
      assert.equal(await late.ping("after expiry", 1_500), false);
      await connector.waitFor(
        /Closed the direct path of "?client-\d+"? for "?web"?: "?token_expired/,
      );
      // The ticket itself is still within its 60 s: presented again, it is refused.
      await assert.rejects(dialDirect(path.ready), /refused/);
      await connector.waitFor(/Refused a direct connection: "?token_expired/);
      // And the relay, with no grace on exp, refuses the token too.
      assert.equal(
        await rawHello(relayPort, fx.pki.caCertPath, "client", tok.token),
        "token_expired",
      );
      for (const h of [held, late]) h.close();
      forward.close();
    } finally {
      echo.close();
    }
  },
);

Deno.test(
  "direct path: a revocation closes it within 5 s with the client's relay session gone",
  opts,
  async () => {
    await using fx = await Fixture.create("direct-revoke-gone");
    const echo = echoServer();
    try {
      const { relayPort, caPem, connector } = await directSetup(fx, echo);
      const tok = await fx.token("client");
      const path = await brokerDirectPath(relayPort, caPem, tok.token);
      path.session.conn.close({ closeCode: 0, reason: "" });
      const forward = directForward(path.conn);
      const held = await HeldFlow.open(forward.port);
      assert.ok(await held.ping("before revocation"));
      const revokedAt = Date.now();
      await Deno.writeTextFile(`${fx.dir}/revoked.txt`, `${tok.id}\n`);
      assert.equal(await closedWith(path.conn, 6_000), "token_revoked");
      const tookMs = Date.now() - revokedAt;
      assert.ok(tookMs < 5_000, `closed ${tookMs} ms after the revocation`);
      assert.equal(await held.ping("after revocation", 1_500), false);
      await connector.waitFor(
        /Closed the direct path of "?client-\d+"? for "?web"?: "?token_revoked/,
      );
      // The unexpired ticket, presented again, is refused: the connector remembers the token id.
      await assert.rejects(dialDirect(path.ready), /refused/);
      await connector.waitFor(/Refused a direct connection: "?token_revoked/);
      held.close();
      forward.close();
    } finally {
      echo.close();
    }
  },
);

Deno.test(
  "direct path: a revocation made while the connector was away reaches it when it reconnects",
  opts,
  async () => {
    await using fx = await Fixture.create("direct-revoke-away");
    const echo = echoServer();
    try {
      const { relayPort, relay, caPem, connector } = await directSetup(fx, echo);
      const tok = await fx.token("client");
      const path = await brokerDirectPath(relayPort, caPem, tok.token);
      path.session.conn.close({ closeCode: 0, reason: "" });
      const forward = directForward(path.conn);
      const held = await HeldFlow.open(forward.port);
      assert.ok(await held.ping("before"));
      // The relay goes away (the connector loses its link); the revocation is made meanwhile.
      relay.kill("SIGKILL");
      await relay.stop(2_000).catch(() => {});
      await Deno.writeTextFile(`${fx.dir}/revoked.txt`, `${tok.id}\n`);
      await new Promise((r) => setTimeout(r, 1_000));
      // Nobody has told the connector yet: the path still serves (this is what the replay fixes).
      assert.equal(await closedWith(path.conn, 500), "open");
      assert.ok(await held.ping("while the relay is away"));
      // The relay comes back with the revocation; the connector re-registers and hears it.
      const restarted: ZtnaProcess = await fx.relay(relayPort);
      const registeredAt = Date.now();
      assert.equal(await closedWith(path.conn, 15_000), "token_revoked");
      const tookMs = Date.now() - registeredAt;
      assert.ok(tookMs < 10_000, `closed ${tookMs} ms after the relay came back`);
      await connector.waitFor(
        /Closed the direct path of "?client-\d+"? for "?web"?: "?token_revoked/,
      );
      assert.equal(await held.ping("after", 1_500), false);
      held.close();
      forward.close();
      await restarted.stop();
    } finally {
      echo.close();
    }
  },
);

Deno.test(
  "direct path: ends at its maximum lifetime without a fresh ticket; the honest client renews",
  opts,
  async () => {
    await using fx = await Fixture.create("direct-lifetime");
    const echo = echoServer();
    try {
      const { relayPort, caPem, relay } = await directSetup(
        fx,
        echo,
        "direct_path_max_lifetime_ms = 3000",
      );
      // The attacker never renews: its path ends at 3 s with path_expired.
      const tok = await fx.token("client");
      const path = await brokerDirectPath(relayPort, caPem, tok.token);
      const lifetime = path.expiresAt - Date.now();
      assert.ok(lifetime <= 3_000 && lifetime > 1_000, `path lifetime ${lifetime} ms`);
      assert.equal(await closedWith(path.conn, until(path.expiresAt) + 2_000), "path_expired");
      path.session.conn.close({ closeCode: 0, reason: "" });

      // The real client renews before the end: one flow held over three lifetimes keeps working.
      const local = freeTcpPort();
      const client = await fx.client(
        [relayPort],
        { [`127.0.0.1:${local}`]: "web" },
        (await fx.token("client")).path,
        { extra: "direct = true", logLevel: "debug" },
      );
      await client.waitFor(/Direct path to "?web"? is up/, 15_000);
      const held = await HeldFlow.open(local);
      await client.waitFor(/open via "?direct/);
      for (let i = 0; i < 9; i++) {
        assert.ok(await held.ping(`ping ${i}`), `ping ${i} over the renewed path`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
      assert.equal(client.output.match(/Direct path to "?web"? lost/), null);
      await relay.waitFor(/Flows of "?client-\d+"? to "?web"? now take the "?direct/);
      held.close();
    } finally {
      echo.close();
    }
  },
);

Deno.test(
  "direct path: a flow to a service other than the ticket's is refused; the path stays (M3)",
  opts,
  async () => {
    await using fx = await Fixture.create("direct-m3");
    const echo = echoServer();
    try {
      const { relayPort, caPem, connector } = await directSetup(fx, echo);
      // The token grants both services: only the ticket limits the path to web.
      const tok = await fx.token("client", { services: ["web", "db"] });
      const path = await brokerDirectPath(relayPort, caPem, tok.token);
      const other = await requestFlow({ conn: path.conn }, "db", "tcp", 5_000);
      assert.equal(other.ok ? "ok" : other.code, "unauthorized");
      await connector.waitFor(/Flow \d+ to "?db"? failed: "?unauthorized/);
      const forward = directForward(path.conn);
      const held = await HeldFlow.open(forward.port);
      assert.ok(await held.ping("web still works"));
      held.close();
      forward.close();
      path.session.conn.close({ closeCode: 0, reason: "" });
      path.conn.close({ closeCode: 0, reason: "" });
    } finally {
      echo.close();
    }
  },
);

Deno.test(
  "relay: a token expired 5 s ago is refused at HELLO (no grace on exp; skew only on iat)",
  opts,
  async () => {
    await using fx = await Fixture.create("expiry-strict");
    const relayPort = freeUdpPort();
    await fx.relay(relayPort);
    const expired = await fx.token("client", { ttlSeconds: 10, nowMs: Date.now() - 15_000 });
    assert.equal(
      await rawHello(relayPort, fx.pki.caCertPath, "client", expired.token),
      "token_expired",
    );
    // Issued 20 s "in the future" (an issuer's clock ahead) is still accepted.
    const ahead = await fx.token("client", { nowMs: Date.now() + 20_000 });
    assert.equal(await rawHello(relayPort, fx.pki.caCertPath, "client", ahead.token), "welcome");
  },
);
