/**
 * SIGHUP reloads the relay certificate without dropping established connections.
 * @module
 */
import assert from "node:assert/strict";
import { generateDevPki } from "../../src/pki/dev_pki.ts";
import { backendBehind, Fixture, freeTcpPort, httpBackend } from "../_helpers/cluster.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "relay SIGHUP re-reads its certificate; established sessions keep working",
  opts,
  async () => {
    await using fx = await Fixture.create("sighup");
    const backend = httpBackend("backend");
    try {
      const { relayPort, relay, client, local } = await fx.tunnel(backend.port);
      // Same CA, new leaf certificate in place.
      await generateDevPki({ outDir: `${fx.dir}/pki` });
      relay.kill("SIGHUP");
      await relay.waitFor(/Reloaded the relay certificate/);
      assert.equal(await backendBehind(local), "backend");
      assert.doesNotMatch(client.output, /Lost relay/);
      // A new peer handshakes against the reloaded certificate.
      const local2 = freeTcpPort();
      await fx.client(
        [relayPort],
        { [`127.0.0.1:${local2}`]: "web" },
        (await fx.token("client")).path,
      );
      assert.equal(await backendBehind(local2), "backend");
    } finally {
      await backend.shutdown();
    }
  },
);
