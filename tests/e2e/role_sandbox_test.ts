/**
 * Each role's network reach is its config (issue 19): relay, connector and client, started through
 * main.ts's own startRole in a test build, try a TCP connection to a listening address outside
 * their config from inside their sandbox and from the main thread; Deno answers NotCapable every
 * time, nothing reaches the address, and the same three processes still carry a request.
 * @module
 */
import assert from "node:assert/strict";
import { backendBehind, Fixture, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { tcpServer } from "../_helpers/tcp.ts";
import { REPO_ROOT } from "../_helpers/ztna_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const ENTRY = `${REPO_ROOT}/tests/_builds/probing_role.ts`;

Deno.test(
  "relay, connector and client reach nothing outside their config: NotCapable in the sandbox and on the main thread",
  opts,
  async () => {
    await using fx = await Fixture.create("role-sandbox");
    const backend = httpBackend("backend");
    let hits = 0;
    const outside = tcpServer(() => {
      hits++;
      return Promise.resolve();
    });
    const probe = `127.0.0.1:${outside.port}`;
    try {
      const relayPort = freeUdpPort();
      const relayConfig = await fx.config(`
[intermediate]
listen = "127.0.0.1:${relayPort}"
cert = "${fx.pki.certPath}"
key = "${fx.pki.keyPath}"
token_public_keys = ["${fx.signing.publicPath}"]
[intermediate.admin]
enabled = false
`);
      const { connectorConfig, clientConfig, local } = await fx.dialerConfigs(
        relayPort,
        backend.port,
      );
      const env = { ZTNA_TEST_PROBE: probe };
      const start = (role: string, config: string) =>
        fx.spawn([role, config], `probing ${role}`, { entry: ENTRY, env });
      const relay = start("intermediate", relayConfig);
      await relay.waitFor(/Relay listening on/);
      const connector = start("connector", connectorConfig);
      await connector.waitFor(/Registered service/);
      const client = start("client", clientConfig);
      await client.waitFor(/Connected to relay/);
      for (const p of [relay, connector, client]) {
        await p.waitFor(new RegExp(`probe sandbox ${probe}: NotCapable`));
        await p.waitFor(new RegExp(`probe main ${probe}: NotCapable`));
      }
      assert.equal(await backendBehind(local), "backend", "the sandboxed roles still carry flows");
      assert.equal(hits, 0, "nothing reached the address outside the configs");
    } finally {
      await backend.shutdown();
      outside.close();
    }
  },
);
