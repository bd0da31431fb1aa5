/**
 * The authorization matrix: every way a peer can be refused, each observed as its typed code in the
 * refused peer's own log (real processes, real QUIC).
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { rawHello } from "../_helpers/raw_peer.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function withRelay(
  name: string,
  body: (fx: Fixture, relayPort: number, backendPort: number) => Promise<void>,
): Promise<void> {
  await using fx = await Fixture.create(name);
  const backend = httpBackend("backend");
  try {
    const relayPort = freeUdpPort();
    await fx.relay(relayPort);
    await body(fx, relayPort, backend.port);
  } finally {
    await backend.shutdown();
  }
}

Deno.test("relay refuses a HELLO without a token: unauthenticated", opts, async () => {
  await withRelay("no-token", async (fx, relayPort) => {
    assert.equal(await rawHello(relayPort, fx.pki.caCertPath, "client", ""), "unauthenticated");
  });
});

Deno.test("relay refuses a garbage token: token_invalid", opts, async () => {
  await withRelay("garbage", async (fx, relayPort) => {
    assert.equal(
      await rawHello(relayPort, fx.pki.caCertPath, "client", "not.a.token"),
      "token_invalid",
    );
    const tok = await fx.token("client");
    const path = `${fx.dir}/garbage.jwt`;
    await Deno.writeTextFile(path, tok.token.slice(0, -6) + "AAAAAA");
    const client = await fx.client([relayPort], { [`127.0.0.1:${freeTcpPort()}`]: "web" }, path, {
      wait: null,
    });
    await client.waitFor(/refused this client: "?token_invalid/);
  });
});

Deno.test("relay refuses a token signed by another key: token_invalid", opts, async () => {
  await withRelay("foreign", async (fx, relayPort) => {
    const tok = await fx.token("client", { foreignKey: true });
    const client = await fx.client(
      [relayPort],
      { [`127.0.0.1:${freeTcpPort()}`]: "web" },
      tok.path,
      { wait: null },
    );
    await client.waitFor(/refused this client: "?token_invalid/);
  });
});

Deno.test("relay refuses an expired token: token_expired", opts, async () => {
  await withRelay("expired", async (fx, relayPort) => {
    const tok = await fx.token("client", { ttlSeconds: 60, nowMs: Date.now() - 3_600_000 });
    const client = await fx.client(
      [relayPort],
      { [`127.0.0.1:${freeTcpPort()}`]: "web" },
      tok.path,
      { wait: null },
    );
    await client.waitFor(/refused this client: "?token_expired/);
  });
});

Deno.test("relay refuses a revoked token: token_revoked", opts, async () => {
  await withRelay("revoked", async (fx, relayPort) => {
    const tok = await fx.token("client");
    await Deno.writeTextFile(`${fx.dir}/revoked.txt`, `${tok.id}\n`);
    // The relay polls the file every 200 ms in tests.
    const relayLog = fx.processes[0];
    await relayLog.waitFor(/Loaded 1 revoked token ids/);
    const client = await fx.client(
      [relayPort],
      { [`127.0.0.1:${freeTcpPort()}`]: "web" },
      tok.path,
      { wait: null },
    );
    await client.waitFor(/refused this client: "?token_revoked/);
  });
});

Deno.test("relay closes a live connection when its token is revoked", opts, async () => {
  await withRelay("revoke-live", async (fx, relayPort) => {
    const tok = await fx.token("client");
    const client = await fx.client(
      [relayPort],
      { [`127.0.0.1:${freeTcpPort()}`]: "web" },
      tok.path,
    );
    const before = Date.now();
    await Deno.writeTextFile(`${fx.dir}/revoked.txt`, `# revoked in test\n${tok.id}\n`);
    await client.waitFor(/Lost relay .*token_revoked/, 5_000);
    assert.ok(Date.now() - before < 5_000);
  });
});

Deno.test("relay refuses a client token used by a connector: role_mismatch", opts, async () => {
  await withRelay("role", async (fx, relayPort, backendPort) => {
    const tok = await fx.token("client");
    // The relay's check, with the binary's own start-up check out of the way.
    assert.equal(
      await rawHello(relayPort, fx.pki.caCertPath, "connector", tok.token),
      "role_mismatch",
    );
    // The binary reads its token's role at start and says what to issue instead (exit 2).
    const connector = await fx.connector(
      [relayPort],
      { web: `127.0.0.1:${backendPort}` },
      tok.path,
      { wait: null },
    );
    assert.equal((await connector.done).code, 2);
    assert.match(connector.output, /is a client token, but this is a connector/);
    assert.match(connector.output, /ztna admin token issue .*--role connector --service web/);
  });
});

Deno.test(
  "relay NACKs a connector registering a service its token does not grant",
  opts,
  async () => {
    await withRelay("nack", async (fx, relayPort, backendPort) => {
      const tok = await fx.token("connector", { services: ["web"] });
      const connector = await fx.connector(
        [relayPort],
        { web: `127.0.0.1:${backendPort}`, db: `127.0.0.1:${backendPort}` },
        tok.path,
        { wait: null },
      );
      await connector.waitFor(/Relay refused to register service "?db"?: "?unauthorized/);
      await connector.waitFor(/Registered service "?web/);
    });
  },
);

Deno.test(
  "relay refuses a flow to a service the client token does not grant: unauthorized",
  opts,
  async () => {
    await withRelay("flow-authz", async (fx, relayPort, backendPort) => {
      await fx.connector(
        [relayPort],
        { web: `127.0.0.1:${backendPort}`, admin: `127.0.0.1:${backendPort}` },
        (await fx.token("connector", { services: ["*"] })).path,
      );
      const local = freeTcpPort();
      const client = await fx.client(
        [relayPort],
        { [`127.0.0.1:${local}`]: "admin" },
        (await fx.token("client", { services: ["web"] })).path,
      );
      await assert.rejects(fetch(`http://127.0.0.1:${local}/`));
      await client.waitFor(/Flow to "?admin"? refused: "?unauthorized/);
    });
  },
);

Deno.test(
  "relay refuses a flow to a service nobody registered: unknown_service",
  opts,
  async () => {
    await using fx = await Fixture.create("unknown");
    const relayPort = freeUdpPort();
    // Past the start-up grace at once: a fresh relay would still expect connectors to re-home.
    await fx.relay(relayPort, "", "registration_grace_ms = 0");
    const local = freeTcpPort();
    const client = await fx.client(
      [relayPort],
      { [`127.0.0.1:${local}`]: "nothing" },
      (await fx.token("client", { services: ["*"] })).path,
    );
    await assert.rejects(fetch(`http://127.0.0.1:${local}/`));
    await client.waitFor(/Flow to "?nothing"? refused: "?unknown_service/);
  },
);

Deno.test("connector refuses a relay whose certificate its CA did not sign", opts, async () => {
  await withRelay("tls", async (fx, relayPort, backendPort) => {
    const other = await Fixture.create("tls-other");
    try {
      const connector = await fx.connector(
        [relayPort],
        { web: `127.0.0.1:${backendPort}` },
        (await fx.token("connector")).path,
        { ca: other.pki.caCertPath, wait: null },
      );
      await connector.waitFor(/Cannot trust relay .*not signed by a trusted CA/);
      const client = await fx.client(
        [relayPort],
        { [`127.0.0.1:${freeTcpPort()}`]: "web" },
        (await fx.token("client")).path,
        {
          ca: other.pki.caCertPath,
          wait: null,
        },
      );
      await client.waitFor(/Cannot trust relay .*not signed by a trusted CA/);
    } finally {
      await other[Symbol.asyncDispose]();
    }
  });
});
