/**
 * A client whose token does not grant a forwarded service says so when it starts (issue 15, from
 * the checks of issue 21), naming the service and the command that fixes it; the forwards its
 * token grants still work.
 * @module
 */
import assert from "node:assert/strict";
import {
  backendBehind,
  Fixture,
  freeTcpPort,
  freeUdpPort,
  httpBackend,
} from "../_helpers/cluster.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "client start: a forward whose service the token does not grant is named at once",
  opts,
  async () => {
    await using fx = await Fixture.create("startup-token");
    const backend = httpBackend("A");
    try {
      const relayPort = freeUdpPort();
      await fx.relay(relayPort);
      await fx.connector(
        [relayPort],
        { web: `127.0.0.1:${backend.port}` },
        (await fx.token("connector", { services: ["web", "db"] })).path,
      );
      const web = freeTcpPort();
      const db = freeTcpPort();
      const started = Date.now();
      const client = await fx.client(
        [relayPort],
        { [`127.0.0.1:${web}`]: "web", [`127.0.0.1:${db}`]: "db" },
        (await fx.token("client", { services: ["web"] })).path,
      );
      const line = await client.waitFor(/Token problem: [^\n]*grants web, not db[^\n]*/, 5_000);
      assert.match(line[0], /--service db/, "the fix names the missing service");
      // Said before any flow was tried: at start, not at the first refusal.
      assert.doesNotMatch(client.output, /Flow to "?db"? refused/);
      assert.ok(Date.now() - started < 15_000);
      assert.equal(await backendBehind(web), "A", "the granted forward works");
    } finally {
      await backend.shutdown();
    }
  },
);
