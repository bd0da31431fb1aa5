/**
 * TLS is always verified (finding C1), with real processes and real TLS: relays, admin endpoints,
 * an ACME CA and a direct-path listener that present a certificate from another CA, for another
 * name, expired or self-signed are refused by every peer that dials them — connector, client, admin
 * CLI, ACME client, client direct path — each beside a control with a good certificate that the same
 * peer accepts. And nothing that could turn verification off appears in code, config or tooling.
 * @module
 */
import assert from "node:assert/strict";
import { generateAdminToken, hashAdminToken } from "../../src/admin/mod.ts";
import { DIRECT_SERVER_NAME, makeEphemeralCert } from "../../src/pki/ephemeral_cert.ts";
import { ALPN, type ControlMessageInput } from "../../src/protocol/mod.ts";
import { ControlChannel } from "../../src/transport/control_channel.ts";
import { eventually } from "../_helpers/admin_http.ts";
import {
  BAD_KINDS,
  type CertFiles,
  type CertKind,
  RUSTLS_REASON,
  writeServerCert,
} from "../_helpers/bad_certs.ts";
import {
  backendBehind,
  Fixture,
  freeTcpPort,
  freeUdpPort,
  httpBackend,
} from "../_helpers/cluster.ts";
import { AcmeWorld } from "../_helpers/pebble.ts";
import { REPO_ROOT, runZtna, type ZtnaProcess } from "../_helpers/ztna_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** What the dialers' log says, in plain words, for each refused kind (src/transport/dial.ts). */
const DIAL_REASON: Record<Exclude<CertKind, "good">, RegExp> = {
  "wrong-ca": /is not signed by a trusted CA/,
  "wrong-name": /does not name/,
  "expired": /has expired or is not valid yet/,
  "self-signed": /is not signed by a trusted CA/,
};

/** What the admin CLI says for each refused kind (the TLS stack's reason, as it words it). */
const ADMIN_REASON: Record<Exclude<CertKind, "good">, RegExp> = {
  "wrong-ca": /unknown ?issuer/i,
  "wrong-name": /does not name localhost/,
  "expired": /has expired or is not valid yet/,
  "self-signed": /unknown ?issuer/i,
};

interface TestRelay {
  kind: CertKind;
  port: number;
  process: ZtnaProcess;
  adminUrl: string;
}

/** A relay serving `cert` on QUIC and on its HTTPS admin endpoint. */
async function startRelay(
  fx: Fixture,
  kind: CertKind,
  cert: CertFiles,
  adminHash: string,
): Promise<TestRelay> {
  const port = freeUdpPort();
  const path = await fx.config(`
[intermediate]
listen = "127.0.0.1:${port}"
cert = "${cert.certPath}"
key = "${cert.keyPath}"
token_public_keys = ["${fx.signing.publicPath}"]
state_dir = "${fx.dir}/state-${kind}"
idle_timeout_ms = 3000
drain_timeout_ms = 500
[intermediate.admin]
listen = "127.0.0.1:0"
tls = true
token_hashes = ["${adminHash}"]
`);
  const process = fx.spawn(["--role=intermediate", "--config", path], `relay-${kind}`);
  await process.waitFor(/Relay listening on/);
  const admin = await process.waitFor(/Admin endpoint listening on "?https:\/\/[^\s"]+:(\d+)/);
  return { kind, port, process, adminUrl: `https://localhost:${admin[1]}` };
}

/** True while `p` has not exited. */
async function running(p: ZtnaProcess): Promise<boolean> {
  return await Promise.race([p.done.then(() => false), Promise.resolve(true)]);
}

function count(text: string, re: RegExp): number {
  return [...text.matchAll(new RegExp(re.source, "g"))].length;
}

/** The dialer's log line for a refused relay on `port`. */
function refusal(port: number, kind: Exclude<CertKind, "good">): RegExp {
  return new RegExp(
    `Cannot trust relay 127\\.0\\.0\\.1:${port}: its certificate ${
      DIAL_REASON[kind].source
    }[^\\n]*` +
      RUSTLS_REASON[kind].source,
  );
}

Deno.test(
  "C1: connector, client and admin CLI refuse a relay certificate from another CA, for another name, expired or self-signed",
  opts,
  async (t) => {
    await using fx = await Fixture.create("tls-verify");
    const backend = httpBackend("backend");
    try {
      const ca = { caCertPath: fx.pki.caCertPath, caKeyPath: `${fx.dir}/pki/ca.key` };
      const adminToken = generateAdminToken();
      const adminTokenPath = `${fx.dir}/admin.token`;
      await Deno.writeTextFile(adminTokenPath, adminToken, { mode: 0o600 });
      const adminHash = await hashAdminToken(adminToken);
      const kinds: CertKind[] = [...BAD_KINDS, "good"];
      const relays = await Promise.all(kinds.map(async (kind) => {
        const cert = await writeServerCert(kind, ca, `${fx.dir}/certs`);
        return await startRelay(fx, kind, cert, adminHash);
      }));
      const good = relays.find((r) => r.kind === "good")!;
      const bad = relays.filter((r): r is TestRelay & { kind: Exclude<CertKind, "good"> } =>
        r.kind !== "good"
      );
      const ports = relays.map((r) => r.port); // the good relay last

      await t.step(
        "the connector refuses each bad relay, keeps retrying it, serves through the good one",
        async () => {
          const connector = await fx.connector(
            ports,
            { web: `127.0.0.1:${backend.port}` },
            (await fx.token("connector")).path,
            { wait: null },
          );
          await connector.waitFor(/Registered service "?web/);
          for (const r of bad) {
            // Refused with its reason, and retried: a refused relay is not given up on.
            await eventually(
              `two refusals of the ${r.kind} relay`,
              () =>
                Promise.resolve(count(connector.output, refusal(r.port, r.kind)) >= 2 || undefined),
            );
          }
          assert.ok(await running(connector), "the connector keeps running");
        },
      );

      await t.step("the client refuses each bad relay and moves on to the good one", async () => {
        const local = freeTcpPort();
        const client = await fx.client(
          ports,
          { [`127.0.0.1:${local}`]: "web" },
          (await fx.token("client")).path,
          { wait: new RegExp(`Connected to relay "?127\\.0\\.0\\.1:${good.port}`) },
        );
        for (const r of bad) assert.match(client.output, refusal(r.port, r.kind));
        assert.equal(await backendBehind(local), "backend");
      });

      await t.step("no peer authenticated at a bad relay; both did at the good one", () => {
        for (const r of bad) {
          assert.doesNotMatch(r.process.output, /Peer authenticated/, `${r.kind} relay`);
        }
        assert.equal(count(good.process.output, /Peer authenticated/), 2);
      });

      await t.step("the admin CLI refuses each bad admin endpoint over HTTPS", async () => {
        const results = await Promise.all(relays.map((r) =>
          runZtna([
            "admin",
            "services",
            "--url",
            r.adminUrl,
            "--ca",
            fx.pki.caCertPath,
            "--admin-token-file",
            adminTokenPath,
          ])
        ));
        relays.forEach((r, i) => {
          const { code, stdout, stderr } = results[i];
          if (r.kind === "good") {
            assert.equal(code, 0, stderr);
            assert.match(stdout, /^web\s+up\b/m);
          } else {
            assert.equal(code, 1, `${r.kind}: ${stdout}${stderr}`);
            assert.match(stderr, /Cannot reach the admin endpoint/, `${r.kind}: ${stderr}`);
            assert.match(stderr, /certificate/, `${r.kind}: ${stderr}`);
            assert.match(stderr, ADMIN_REASON[r.kind], `${r.kind}: ${stderr}`);
            assert.doesNotMatch(stdout, /web/, `${r.kind}: nothing was read`);
          }
        });
      });
    } finally {
      await backend.shutdown();
    }
  },
);

Deno.test(
  "C1: ACME refuses a CA whose HTTPS certificate its ca_bundle does not cover",
  opts,
  async () => {
    await using fx = await Fixture.create("tls-acme");
    await using world = await AcmeWorld.create(fx, { validitySeconds: 3_600 });
    await writeServerCert(
      "wrong-ca",
      { caCertPath: fx.pki.caCertPath, caKeyPath: `${fx.dir}/pki/ca.key` },
      `${fx.dir}/certs`,
    );
    const otherCa = `${fx.dir}/certs/other-ca/ca.crt`;
    const acme = "retry_min_ms = 200\nretry_max_ms = 400";
    // Another CA in ca_bundle, then none (public roots only): Pebble's certificate is trusted by neither.
    for (const caBundle of [otherCa, null]) {
      const { relay } = await world.startRelay(freeUdpPort(), { caBundle, acme, wait: null });
      await relay.waitFor(
        /ACME issue failed \(ca_unreachable\), attempt 2\b[^\n]*invalid peer certificate: UnknownIssuer/,
        30_000,
      );
      assert.doesNotMatch(relay.output, /Relay listening/, "no certificate, so nothing served");
      assert.ok(await running(relay), "the relay keeps retrying");
      await relay.stop();
    }
    assert.deepEqual(world.pebble.issuedSerials, [], "Pebble issued nothing");
    assert.doesNotMatch(
      world.pebble.output,
      /new-acct|newAccount/,
      "no account request got through",
    );
    // Control: the bundle that covers Pebble's certificate gets a certificate from the same CA.
    await world.startRelay(freeUdpPort());
    assert.equal(world.pebble.issuedSerials.length, 1);
  },
);

Deno.test(
  "C1: the client's direct path refuses a connector certificate other than the one the relay handed over",
  opts,
  async () => {
    await using fx = await Fixture.create("tls-direct");
    const presented = await makeEphemeralCert(); // what the "connector" really serves
    const impostor = await makeEphemeralCert(); // same name, another key
    // What the relay hands over, request by request: another certificate, the right certificate
    // for another name, then the right one (the control). Each ticket says which.
    const answers = [
      { cert: impostor.cert, serverName: DIRECT_SERVER_NAME, ticket: "ticket-other-certificate" },
      { cert: presented.cert, serverName: "other.ztna.invalid", ticket: "ticket-other-name" },
      { cert: presented.cert, serverName: DIRECT_SERVER_NAME, ticket: "ticket-right" },
    ];

    // A connector's direct listener: records every ticket a client presents over a handshake.
    const tickets: string[] = [];
    let closed = false;
    const direct = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
    const directListener = direct.listen({
      alpnProtocols: [ALPN],
      cert: presented.cert,
      key: presented.key,
    });
    void (async () => {
      while (true) {
        let conn: Deno.QuicConn;
        try {
          conn = await directListener.accept();
        } catch {
          if (closed) return;
          continue; // a handshake the client broke off
        }
        void (async () => {
          const first = await conn.incomingBidirectionalStreams.getReader().read();
          if (first.done) return;
          const control = new ControlChannel(first.value);
          const hello = await control.next();
          if (hello?.type !== "direct_hello") return;
          tickets.push(hello.ticket);
          await control.send({
            type: "direct_welcome",
            service: "web",
            expiresAt: Date.now() + 60_000,
          });
        })().catch(() => {});
      }
    })();

    // A relay that brokers every direct request of its one client with the next answer.
    const relay = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
    const relayListener = relay.listen({
      alpnProtocols: [ALPN],
      cert: await Deno.readTextFile(fx.pki.certPath),
      key: await Deno.readTextFile(fx.pki.keyPath),
    });
    let answered = 0;
    void (async () => {
      const conn = await relayListener.accept();
      const first = await conn.incomingBidirectionalStreams.getReader().read();
      if (first.done) return;
      const control = new ControlChannel(first.value);
      if ((await control.next())?.type !== "hello") return;
      const welcome: ControlMessageInput = {
        type: "welcome",
        version: 2,
        connId: "broker01",
        identity: "alice",
        role: "client",
        services: ["web"],
        observed: { hostname: "127.0.0.1", port: 1 },
        limits: { maxStreams: 100, maxMessageBytes: 65_536 },
        tokenExpiresAt: Date.now() + 3_600_000,
      };
      await control.send(welcome);
      while (true) {
        const msg = await control.next();
        if (msg === null) return;
        if (msg.type !== "direct_request") continue;
        const answer = answers[Math.min(answered++, answers.length - 1)];
        await control.send({
          type: "direct_ready",
          requestId: msg.requestId,
          candidates: [{ hostname: "127.0.0.1", port: direct.addr.port }],
          sessionId: `session-${answered}-0123456789`,
          ...answer,
        });
      }
    })().catch(() => {});

    try {
      const client = await fx.client(
        [relay.addr.port],
        { [`127.0.0.1:${freeTcpPort()}`]: "web" },
        (await fx.token("client")).path,
        {
          extra: "direct_retry_ms = 200",
          logLevel: "debug", // a repeated failure reason is logged at debug
          wait: /Direct path to "?web"? is up/,
        },
      );
      assert.equal(answered, 3);
      assert.equal(count(client.output, /Direct path to "?web"? failed/), 2, client.output);
      // Said as a certificate refusal, not as a NAT that did not open.
      assert.equal(
        count(
          client.output,
          /Direct path to "?web"? failed: "?the connector's certificate was refused/,
        ),
        2,
        client.output,
      );
      assert.deepEqual(tickets, ["ticket-right"], "no ticket went to an unverified listener");
    } finally {
      closed = true;
      relay.close();
      direct.close();
    }
  },
);

/**
 * Anything that could switch certificate checks off, in code, config or tooling: Deno's flag and
 * option, its trust-store variables, Node's and OpenSSL-style switches, config keys of the
 * `insecure`/`skip_verify`/`verify = false` family, rustls' `dangerous` API.
 */
const CODE_SWITCHES: Array<[RegExp, string]> = [
  [
    /unsafely[-_]?ignore[-_]?certificate[-_]?errors/i,
    "Deno's switch that skips certificate checks",
  ],
  [/DENO_TLS_CA_STORE|DENO_CERT\b/, "a Deno variable that replaces the trusted roots"],
  [/rejectUnauthorized|NODE_TLS_REJECT_UNAUTHORIZED/i, "Node's switch that skips verification"],
  [/checkServerIdentity/, "Node's hook that can skip the name check"],
  [/\binsecure|InsecureSkipVerify/i, "an 'insecure' option"],
  [/skip[-_ ]?(tls[-_ ]?)?verif|no[-_]?verify\b/i, "a 'skip verification' option"],
  [/verif(y|ication)(_tls|_peer|_certs?)?["']?\s*[:=]\s*(false|0\b)/i, "verification set to false"],
  [/(tls|ssl|peer|cert(ificate)?)[-_]?verif\w*["']?\s*[:=]\s*(false|0\b)/i, "verification off"],
  [/allow[-_]?invalid[-_]?cert|accept[-_]?invalid[-_]?cert/i, "accepting invalid certificates"],
  [/\bdangerous\b|dangerous_configuration/i, "rustls' dangerous verifier API"],
  [/\bcurl\b[^\n]*\s(-k\b|--insecure)/, "curl without verification"],
  [/StrictHostKeyChecking[= ]+no/i, "ssh without host key checks"],
];

/** In documentation, only concrete switches: prose may say that there is no way to skip checks. */
const DOC_SWITCHES: Array<[RegExp, string]> = [
  [
    /unsafely[-_]?ignore[-_]?certificate[-_]?errors/i,
    "Deno's switch that skips certificate checks",
  ],
  [/rejectUnauthorized|NODE_TLS_REJECT_UNAUTHORIZED/i, "Node's switch that skips verification"],
  [/\bcurl\b[^\n]*\s(-k\b|--insecure)/, "curl without verification"],
  [/StrictHostKeyChecking[= ]+no/i, "ssh without host key checks"],
  [/^\s*(insecure|skip_verify|verify|tls_verify)\s*=\s*(true|false)/m, "a verification config key"],
];

Deno.test(
  "C1: no option, flag or variable that could turn TLS verification off appears in code, config, tooling or docs",
  async () => {
    const out = await new Deno.Command("git", {
      args: ["ls-files", "-z"],
      cwd: REPO_ROOT,
      stdout: "piped",
    }).output();
    assert.ok(out.success, "git ls-files");
    const files = new TextDecoder().decode(out.stdout).split("\0").filter(Boolean);
    const code = files.filter((f) =>
      /^(src|tools|bench|\.ci)\//.test(f) || ["main.ts", "deno.json", "dev"].includes(f)
    );
    const docs = files.filter((f) => /\.(md|toml)$/.test(f) && !f.startsWith("bench/results/"));
    assert.ok(code.some((f) => f.startsWith("src/")) && code.includes("deno.json"), "files found");
    const offenders: string[] = [];
    for (const [list, switches] of [[code, CODE_SWITCHES], [docs, DOC_SWITCHES]] as const) {
      for (const file of list) {
        let text: string;
        try {
          text = await Deno.readTextFile(`${REPO_ROOT}/${file}`);
        } catch {
          continue; // deleted in the work tree, or not text
        }
        for (const [re, what] of switches) {
          const m = text.match(re);
          if (m) offenders.push(`${file}: ${what}: "${m[0]}"`);
        }
      }
    }
    assert.deepEqual(offenders, []);
  },
);
