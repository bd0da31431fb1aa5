/**
 * `ztna admin permissions` prints flags that are enough and exact: relay, connector and client are
 * each run once with `deno run` under exactly the flags it printed for their configs (no -P=ztna,
 * no other grant), and a request goes through all three.
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
import { WatchedProcess } from "../_helpers/watched_process.ts";
import { REPO_ROOT, runZtna } from "../_helpers/ztna_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "each role runs under exactly the flags ztna admin permissions prints",
  opts,
  async () => {
    await using fx = await Fixture.create("permission-flags");
    const backend = httpBackend("backend");
    const running: WatchedProcess[] = [];
    try {
      const relayPort = freeUdpPort();
      const relayConfig = await fx.config(`
[intermediate]
listen = "127.0.0.1:${relayPort}"
cert = "${fx.pki.certPath}"
key = "${fx.pki.keyPath}"
token_public_keys = ["${fx.signing.publicPath}"]
revocation_file = "revoked.txt"
state_dir = "relay-state"
[intermediate.admin]
listen = "127.0.0.1:${freeTcpPort()}"
`);
      const { connectorConfig, clientConfig, local } = await fx.dialerConfigs(
        relayPort,
        backend.port,
      );
      const start = async (role: string, config: string, ready: RegExp) => {
        const printed = await runZtna(["admin", "permissions", "--role", role, "--config", config]);
        assert.equal(printed.code, 0, printed.stderr);
        const flags = printed.stdout.trim().split(" ");
        assert.ok(flags.every((f) => f.startsWith("--")), printed.stdout);
        assert.ok(
          flags.some((f) => f.startsWith("--allow-net=")),
          `${role}: --allow-net names its addresses`,
        );
        const p = new WatchedProcess(
          Deno.execPath(),
          ["run", "-q", ...flags, `${REPO_ROOT}/main.ts`, `--role=${role}`, "--config", config],
          { name: `${role} under its printed flags`, cwd: REPO_ROOT, env: { NO_COLOR: "1" } },
        );
        running.push(p);
        await p.waitFor(ready);
        return flags;
      };
      const relayFlags = await start("intermediate", relayConfig, /Relay listening on/);
      assert.ok(
        relayFlags.includes(`--allow-net=127.0.0.1:${relayPort},${relayFlags[3].split(",")[1]}`),
        `relay: its QUIC and admin listeners only (${relayFlags[3]})`,
      );
      assert.ok(
        relayFlags.includes(`--allow-write=${fx.dir}/relay-state`),
        "relay writes its state",
      );
      await start("connector", connectorConfig, /Registered service/);
      await start("client", clientConfig, /Connected to relay/);
      assert.equal(await backendBehind(local), "backend");
    } finally {
      await Promise.all(running.map((p) => p.stop(5_000)));
      await backend.shutdown();
    }
  },
);
