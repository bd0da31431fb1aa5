/**
 * The connector's two egress layers (H3): the allow-list in code refuses a crafted FLOW for a
 * service it does not serve; with that check bypassed in a test build, the Worker sandbox still
 * refuses the unlisted destination with NotCapable (reported as egress_denied).
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { FakeRelay } from "../_helpers/fake_relay.ts";
import { tcpServer } from "../_helpers/tcp.ts";
import { REPO_ROOT } from "../_helpers/ztna_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "connector refuses a crafted FLOW for a service it does not serve: unknown_service",
  opts,
  async () => {
    await using fx = await Fixture.create("egress-code");
    const backend = httpBackend("backend");
    await using relay = new FakeRelay({
      cert: await Deno.readTextFile(fx.pki.certPath),
      key: await Deno.readTextFile(fx.pki.keyPath),
    });
    try {
      await fx.connector(
        [relay.port],
        { web: `127.0.0.1:${backend.port}` },
        (await fx.token("connector")).path,
      );
      assert.equal(await relay.openFlow("web", 1), "ok");
      assert.equal(await relay.openFlow("intranet-admin", 2), "unknown_service");
    } finally {
      await backend.shutdown();
    }
  },
);

Deno.test(
  "with the code check bypassed, the Worker sandbox refuses an unlisted backend",
  opts,
  async () => {
    await using fx = await Fixture.create("egress-sandbox");
    const listed = httpBackend("listed");
    let unlistedHits = 0;
    const unlisted = tcpServer(() => {
      unlistedHits++;
      return Promise.resolve();
    });
    try {
      const relayPort = freeUdpPort();
      await fx.relay(relayPort);
      const path = await fx.config(`
[connector]
relays = [{ address = "127.0.0.1:${relayPort}", server_name = "localhost" }]
ca = "${fx.pki.caCertPath}"
token_file = "${(await fx.token("connector")).path}"
[[connector.service]]
id = "web"
backend = "127.0.0.1:${listed.port}"
`);
      const connector = fx.spawn([path], "unchecked-connector", {
        entry: `${REPO_ROOT}/tests/_builds/unchecked_connector.ts`,
        env: { ZTNA_TEST_REDIRECT: `127.0.0.1:${unlisted.port}` },
      });
      await connector.waitFor(/Registered service/);
      const local = freeTcpPort();
      const client = await fx.client(
        [relayPort],
        { [`127.0.0.1:${local}`]: "web" },
        (await fx.token("client")).path,
      );
      await assert.rejects(fetch(`http://127.0.0.1:${local}/`));
      await client.waitFor(/Flow to "?web"? refused: "?egress_denied/);
      await connector.waitFor(/egress_denied/);
      assert.equal(unlistedHits, 0, "nothing reached the unlisted port");
    } finally {
      await listed.shutdown();
      unlisted.close();
    }
  },
);
