/**
 * `ztna doctor` in the NAT lab gives the right verdict where the network is the problem: behind an
 * endpoint-independent NAT and a symmetric one (told apart from one socket seen at two relay
 * addresses; a direct path brokered behind the first, "not possible" behind the second), with all
 * UDP dropped (TCP works: fine), and where only an HTTP proxy (tinyproxy, with
 * Basic auth) leads out — with and without its credentials, the password never printed.
 * Needs root; skipped with the reason printed where namespaces cannot be made.
 * @module
 */
import assert from "node:assert/strict";
import { DoctorReport } from "../../src/doctor/mod.ts";
import { Fixture, freeUdpPort } from "../_helpers/cluster.ts";
import { startTinyproxy } from "../_helpers/tinyproxy.ts";
import { REPO_ROOT, RUN_FLAGS } from "../_helpers/ztna_process.ts";
import { LAB_ADDRESSES as ADDR, type LabNamespace, NatLab } from "./_lab.ts";

const available = await NatLab.available();
if (!available.ok) console.log(`tests/netns skipped: ${available.why}`);

/** A second address of the relay's host, where a second relay listens. */
const RELAY_ALIAS = "198.18.0.9";
const PASSWORD = "lab-proxy-pass-4471";

Deno.test({
  name: "ztna doctor: NAT mapping, UDP blocked, proxy only — each gets its verdict",
  ignore: !available.ok,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using lab = await NatLab.create({ natB: "symmetric" });
    await using fx = await Fixture.create("netns-doctor", { relayHost: ADDR.relay });
    const port = freeUdpPort();
    await fx.relay(port, "", "", "", undefined, { wrapper: lab.wrapper("pub") });
    // A second relay on a second address of the same host: one socket seen from two destinations.
    const pub = (...cmd: string[]) => lab.exec("pub", cmd, { timeoutMs: 5_000 });
    assert.equal((await pub("ip", "addr", "add", `${RELAY_ALIAS}/24`, "dev", "br0")).code, 0);
    const second = await fx.config(`[intermediate]
listen = "${RELAY_ALIAS}:${port}"
cert = "${fx.pki.certPath}"
key = "${fx.pki.keyPath}"
token_public_keys = ["${fx.signing.publicPath}"]
state_dir = "${fx.dir}/state-second"
[intermediate.admin]
enabled = false
`);
    await fx.spawn(["--role=intermediate", "--config", second], "relay2", {
      wrapper: lab.wrapper("pub"),
    }).waitFor(/Relay listening on/);
    const token = await fx.token("client", { subject: "lab-user" });
    const relay = (host: string) =>
      `{ address = "${host}:${port}", server_name = "${ADDR.relay}" }`;
    const config = (relays: string[], extra = "") =>
      fx.config(`[client]
relays = [${relays.join(", ")}]
ca = "${fx.pki.caCertPath}"
token_file = "${token.path}"
socks = "127.0.0.1:1"
${extra}
`);
    const doctor = async (role: LabNamespace, path: string, env: string[] = []) => {
      const cmd = ["env", ...env, Deno.execPath(), ...RUN_FLAGS, `${REPO_ROOT}/main.ts`];
      const out = await lab.exec(role, [...cmd, "doctor", "--config", path, "--json"], {
        timeoutMs: 30_000,
      });
      assert.ok(!out.stdout.includes(PASSWORD) && !out.stderr.includes(PASSWORD));
      assert.ok(!out.stdout.includes(token.token), "the token is never printed");
      assert.ok(out.stdout.startsWith("{"), `doctor printed no report: ${out.stderr}`);
      return { code: out.code, report: DoctorReport.parse(JSON.parse(out.stdout)), out };
    };
    const bothAddresses = await config([relay(ADDR.relay), relay(RELAY_ALIAS)]);
    const doctorService = async (role: LabNamespace, path: string) => {
      const cmd = [Deno.execPath(), ...RUN_FLAGS, `${REPO_ROOT}/main.ts`, "doctor", "--config"];
      const out = await lab.exec(role, [...cmd, path, "--service", "web", "--json"], {
        timeoutMs: 30_000,
      });
      assert.ok(out.stdout.startsWith("{"), `doctor printed no report: ${out.stderr}`);
      return { code: out.code, report: DoctorReport.parse(JSON.parse(out.stdout)) };
    };

    await t.step(
      "endpoint-independent NAT (cliA): one public port for both addresses",
      async () => {
        const { code, report } = await doctor("cliA", bothAddresses);
        assert.equal(code, 0, JSON.stringify(report));
        assert.equal(report.verdict.code, "ok");
        assert.equal(report.nat.mapping, "endpoint-independent");
        assert.ok(report.nat.observations.every((o) => o.observed.hostname === ADDR.natA));
      },
    );

    await t.step("symmetric NAT (srvB): another public port per destination", async () => {
      const { code, report } = await doctor("srvB", bothAddresses);
      assert.equal(code, 0);
      assert.equal(report.nat.mapping, "endpoint-dependent");
      assert.equal(new Set(report.nat.observations.map((o) => o.observed.port)).size, 2);
    });

    await t.step(
      "direct path to a service: brokered behind EIM, not behind symmetric NAT",
      async () => {
        // A connector that accepts direct paths, on the "internet" (no NAT in front of it).
        await fx.connector([port], { web: "127.0.0.1:9" }, (await fx.token("connector")).path, {
          wrapper: lab.wrapper("pub"),
          extra: "direct = true",
        });
        const withService = (role: LabNamespace) => doctorService(role, bothAddresses);
        const eim = await withService("cliA");
        assert.equal(eim.code, 0);
        assert.equal(eim.report.direct?.possible, true, JSON.stringify(eim.report.direct));
        const symmetric = await withService("srvB");
        assert.equal(symmetric.code, 0, "a relayed path still works");
        assert.equal(symmetric.report.direct?.possible, false);
        assert.equal(symmetric.report.direct?.code, "symmetric_nat");
        assert.match(symmetric.report.verdict.line, /no direct path to web: .*symmetric/);
      },
    );

    const oneRelay = await config([relay(ADDR.relay)]);
    const cli = (...cmd: string[]) => lab.exec("cliA", ["iptables", "-w", ...cmd]);

    await t.step("all UDP dropped (cliA): QUIC unreachable, TCP works — fine", async () => {
      assert.equal((await cli("-A", "OUTPUT", "-p", "udp", "-j", "DROP")).code, 0);
      try {
        const { code, report } = await doctor("cliA", oneRelay);
        assert.equal(code, 0, JSON.stringify(report));
        assert.equal(report.verdict.code, "udp_blocked");
        assert.match(report.verdict.line, new RegExp(`open ${port}/udp for better performance`));
        assert.equal(report.relays[0].quic?.ok, false);
        assert.ok(report.relays[0].tcp.state === "ok" && report.relays[0].tcp.hello);
      } finally {
        await cli("-D", "OUTPUT", "-p", "udp", "-j", "DROP");
      }
    });

    await t.step(
      "only an HTTP proxy leads out (cliA): via the proxy, credentials needed",
      async () => {
        // tinyproxy on natA's LAN side; cliA may reach nothing on the "internet" (198.18/16) itself.
        await using proxy = await startTinyproxy(fx.dir, {
          listen: ADDR.natALan,
          port: 3128,
          allow: ["198.19.1.0/24"],
          basicAuth: { user: "lab", password: PASSWORD },
          wrapper: lab.wrapper("natA"),
        });
        assert.equal((await cli("-A", "OUTPUT", "-d", "198.18.0.0/16", "-j", "DROP")).code, 0);
        try {
          const credentials = `${fx.dir}/proxy.credentials`;
          await Deno.writeTextFile(credentials, `lab:${PASSWORD}\n`, { mode: 0o600 });
          const withProxy = await config(
            [relay(ADDR.relay)],
            `proxy = "${proxy.url}"\nproxy_credentials_file = "${credentials}"`,
          );
          const ok = await doctor("cliA", withProxy);
          assert.equal(ok.code, 0, JSON.stringify(ok.report));
          assert.equal(ok.report.verdict.code, "via_proxy");
          assert.equal(ok.report.relays[0].quic, undefined, "QUIC is not tried through a proxy");
          assert.ok(
            proxy.connects.includes(`CONNECT ${ADDR.relay}:${port} HTTP/1.1`),
            proxy.output,
          );
          // The same proxy from HTTPS_PROXY, without credentials: it answers 407.
          const bare = await doctor("cliA", oneRelay, [`HTTPS_PROXY=${proxy.url}`]);
          assert.equal(bare.code, 1);
          assert.equal(bare.report.verdict.code, "proxy_credentials");
          assert.match(
            bare.report.verdict.line,
            /proxy_credentials_file or ZTNA_PROXY_CREDENTIALS/,
          );
          // NO_PROXY exempts the relay: then nothing leads out at all.
          const exempt = await doctor("cliA", oneRelay, [
            `HTTPS_PROXY=${proxy.url}`,
            `NO_PROXY=${ADDR.relay}`,
          ]);
          assert.equal(exempt.code, 1);
          assert.equal(exempt.report.proxy?.url, proxy.url);
          assert.equal(exempt.report.relays[0].proxy, undefined);
        } finally {
          await cli("-D", "OUTPUT", "-d", "198.18.0.0/16", "-j", "DROP");
        }
      },
    );
  },
});
