/**
 * `ztna doctor` against real relays (real processes, real QUIC and TLS): the right verdict and exit
 * status for a working setup, an expired token, a wrong CA, the flag form without a config file;
 * `--json` output checked against its schema; the token never printed.
 * @module
 */
import assert from "node:assert/strict";
import { generateDevPki } from "../../src/pki/dev_pki.ts";
import { DoctorReport } from "../../src/doctor/mod.ts";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";
import { runZtna } from "../_helpers/ztna_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Runs `ztna doctor --json …` and parses its report with the published schema. */
async function doctorJson(args: string[], env: Record<string, string> = {}) {
  const run = await runZtna(["doctor", ...args, "--json"], { env, timeoutMs: 30_000 });
  const report = DoctorReport.parse(JSON.parse(run.stdout));
  return { ...run, report };
}

function clientConfig(relayPort: number, ca: string, tokenPath: string): string {
  return `[client]
relays = [{ address = "127.0.0.1:${relayPort}", server_name = "localhost" }]
ca = "${ca}"
token_file = "${tokenPath}"
socks = "127.0.0.1:1"
`;
}

Deno.test(
  "ztna doctor: verdicts on loopback (fine, expired token, wrong CA, flags)",
  opts,
  async (t) => {
    await using fx = await Fixture.create("doctor");
    const relayPort = freeUdpPort();
    await fx.relay(relayPort);
    await fx.connector([relayPort], { web: "127.0.0.1:9" }, (await fx.token("connector")).path);
    const good = await fx.token("client", { subject: "alice", services: ["web"] });

    await t.step(
      "all fine: exit 0, grants and identity from WELCOME, no NAT, no direct path",
      async () => {
        const path = await fx.config(clientConfig(relayPort, fx.pki.caCertPath, good.path));
        const { code, report, stdout } = await doctorJson(["--config", path, "--service", "web"]);
        assert.equal(code, 0, stdout);
        assert.deepEqual([report.verdict.ok, report.verdict.code], [true, "ok"]);
        const quic = report.relays[0].quic;
        assert.ok(quic?.ok);
        assert.equal(quic.identity, "alice");
        assert.deepEqual(quic.services, ["web"]);
        // The relay's TCP transport (on by default, same port): TLS, HELLO, and the chain as verified.
        const tcp = report.relays[0].tcp;
        assert.ok(tcp.state === "ok" && tcp.hello, JSON.stringify(tcp));
        assert.match(tcp.certificate?.subject ?? "", /CN=localhost/);
        assert.match(tcp.certificate?.issuer ?? "", /CN=ztna dev CA/);
        assert.equal(tcp.certificate?.chain.length, 2);
        assert.equal(report.nat.mapping, "none");
        // The connector runs with direct = false: the broker answers no_connector.
        assert.equal(report.direct?.possible, false);
        assert.equal(report.direct?.code, "no_connector");
        assert.ok(!stdout.includes(good.token), "the token is never printed");
        const text = await runZtna(["doctor", "--config", path], { timeoutMs: 30_000 });
        assert.equal(text.code, 0);
        assert.match(
          text.stdout,
          /\nVerdict: OK — All good: QUIC to 127\.0\.0\.1:\d+ in \d+ ms\n$/,
        );
        assert.match(
          text.stdout,
          /QUIC: ok — handshake \d+ ms, HELLO round trip \d+ ms; identity alice/,
        );
      },
    );

    await t.step("a connector's config is checked as that connector", async () => {
      const path = await fx.config(`[connector]
relays = [{ address = "127.0.0.1:${relayPort}", server_name = "localhost" }]
ca = "${fx.pki.caCertPath}"
token_file = "${(await fx.token("connector", { subject: "conn-1" })).path}"
[[connector.service]]
id = "web"
backend = "127.0.0.1:9"
`);
      const { code, report } = await doctorJson(["--config", path]);
      assert.equal(code, 0);
      assert.equal(report.role, "connector");
      assert.ok(report.relays[0].quic?.ok && report.relays[0].quic.identity === "conn-1");
    });

    await t.step("a service the token does not grant: exit 1, named", async () => {
      const path = await fx.config(clientConfig(relayPort, fx.pki.caCertPath, good.path));
      const { code, report } = await doctorJson(["--config", path, "--service", "db"]);
      assert.equal(code, 1);
      assert.equal(report.verdict.code, "service_not_granted");
    });

    await t.step("expired token: exit 1, the relay's refusal and the expiry time", async () => {
      const expired = await fx.token("client", { nowMs: Date.now() - 7_200_000, ttlSeconds: 60 });
      const path = await fx.config(clientConfig(relayPort, fx.pki.caCertPath, expired.path));
      const { code, report } = await doctorJson(["--config", path]);
      assert.equal(code, 1);
      assert.equal(report.verdict.code, "token_expired");
      assert.match(
        report.verdict.line,
        /Token expired at \d{4}-\d\d-\d\dT[^:]+:\d\d:\d\d\.\d{3}Z: get a new token/,
      );
      const quic = report.relays[0].quic;
      assert.ok(quic && !quic.ok && quic.code === "token_expired");
      assert.ok(report.token.readable && report.token.expired);
      const tcp = report.relays[0].tcp;
      assert.ok(tcp.state === "failed" && tcp.code === "token_expired", JSON.stringify(tcp));
    });

    await t.step("wrong CA: exit 1, set ca", async () => {
      const other = await generateDevPki({ outDir: `${fx.dir}/other-pki` });
      const path = await fx.config(clientConfig(relayPort, other.caCertPath, good.path));
      const { code, report } = await doctorJson(["--config", path]);
      assert.equal(code, 1);
      assert.equal(report.verdict.code, "certificate_untrusted");
      assert.match(report.verdict.line, /set ca = /);
    });

    await t.step(
      "without a config file: relay, name and CA as flags, the token from ZTNA_TOKEN",
      async () => {
        const { code, report } = await doctorJson(
          [
            "--relay",
            `127.0.0.1:${relayPort}`,
            "--server-name",
            "localhost",
            "--ca",
            fx.pki.caCertPath,
          ],
          { ZTNA_TOKEN: good.token },
        );
        assert.equal(code, 0);
        assert.equal(report.config, "command line");
        assert.equal(report.verdict.ok, true);
      },
    );
  },
);
