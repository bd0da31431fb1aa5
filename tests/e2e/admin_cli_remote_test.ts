/**
 * `ztna admin` against a running relay: make an admin token, configure its hash, then list
 * connections and services, issue, list and revoke tokens, kick a connection and read the audit
 * log; a wrong admin token exits 1 with the relay's code. A few commands run as real processes with
 * the shipped permission set; the rest run the same code in-process (runAdmin), to keep the test
 * fast.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { runAdmin } from "../../src/cli/admin/mod.ts";
import { runZtna } from "../_helpers/ztna_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "ztna admin commands steer a running relay through its admin endpoint",
  opts,
  async () => {
    await using fx = await Fixture.create("admin-cli-remote");
    const backend = httpBackend("backend");
    try {
      const tokenFile = `${fx.dir}/ops.token`;
      const created = await runZtna(["admin", "admin-token", "create", "--out", tokenFile]);
      assert.equal(created.code, 0, created.stderr);
      const hash = created.stdout.trim();
      assert.match(hash, /^sha256:[0-9a-f]{64}$/);
      assert.doesNotMatch(
        created.stdout + created.stderr,
        /ztna_admin_/,
        "the token stays in the file",
      );
      const again = await runZtna(["admin", "admin-token", "hash", "--token-file", tokenFile]);
      assert.equal(again.stdout.trim(), hash);

      const relayPort = freeUdpPort();
      const adminPort = freeTcpPort();
      const relay = await fx.relay(
        relayPort,
        "",
        "",
        "",
        `listen = "127.0.0.1:${adminPort}"\ntoken_hashes = ["${hash}"]\ntoken_signing_key = "${await fx
          .signingKeyFile()}"`,
      );
      await relay.waitFor(/Admin endpoint listening/);
      const remote = ["--url", `http://127.0.0.1:${adminPort}`, "--admin-token-file", tokenFile];
      /** Runs `ztna admin <args> <remote flags>` in-process, capturing what it prints. */
      const admin = async (...args: string[]) => {
        const out: string[] = [];
        const err: string[] = [];
        const code = await runAdmin([...args, ...remote], {
          io: { out: (l) => out.push(l), err: (l) => err.push(l) },
        });
        return { code, stdout: out.map((l) => `${l}\n`).join(""), stderr: err.join("\n") };
      };

      await fx.connector(
        [relayPort],
        { web: `127.0.0.1:${backend.port}` },
        (await fx.token("connector", { subject: "dc-1", services: ["web"] })).path,
      );
      const services = await admin("services");
      assert.equal(services.code, 0, services.stderr);
      assert.match(services.stdout, /^SERVICE\s+HEALTH\s+CONNECTORS$/m);
      assert.match(services.stdout, /^web\s+up\s+dc-1\(/m);

      const out = `${fx.dir}/bob.token`;
      const issued = await admin(
        "tokens",
        "issue",
        "--role",
        "client",
        "--service",
        "web",
        "--subject",
        "bob",
        "--ttl",
        "1h",
        "--out",
        out,
      );
      assert.equal(issued.code, 0, issued.stderr);
      const tokenId = issued.stdout.trim();
      assert.match(tokenId, /^[\w-]{22}$/);
      assert.match(issued.stderr, /issued token [\w-]{22} for bob \(role client, services web/);
      const client = await fx.client([relayPort], { [`127.0.0.1:${freeTcpPort()}`]: "web" }, out);

      const connections = await runZtna(["admin", "connections", ...remote]);
      assert.equal(connections.code, 0, connections.stderr);
      const bobLine = connections.stdout.split("\n").find((l) => / bob +client /.test(l));
      assert.ok(bobLine, connections.stdout);
      const json = await admin("connections", "--json");
      const items = JSON.parse(json.stdout).items as { connId: string; identity: string }[];
      const dc = items.find((c) => c.identity === "dc-1");
      assert.ok(dc);

      const list = await admin("tokens", "list");
      assert.match(
        list.stdout,
        new RegExp(`^${tokenId}\\s+bob\\s+client\\s+web\\s+\\S+\\s+active\\s+1$`, "m"),
      );

      const kicked = await admin("kick", "--conn", dc.connId);
      assert.equal(kicked.code, 0, kicked.stderr);
      assert.equal(kicked.stdout.trim(), `kicked connection ${dc.connId} of dc-1`);

      const revoked = await admin("tokens", "revoke", "--id", tokenId, "--reason", "left");
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.equal(revoked.stdout.trim(), `revoked token ${tokenId}; closed 1 live connections`);
      await client.waitFor(/Lost relay .*token_revoked/, 5_000);

      const audit = await admin("audit", "--limit", "10");
      assert.equal(audit.code, 0, audit.stderr);
      const actions = audit.stdout.split("\n").slice(1).map((l) => l.split(/\s+/)[2]);
      assert.deepEqual(actions.slice(0, 3), ["token.revoke", "connection.kick", "token.issue"]);

      await Deno.writeTextFile(`${fx.dir}/wrong.token`, "ztna_admin_wrongwrongwrongwrong\n");
      const wrong = await runZtna([
        "admin",
        "connections",
        "--url",
        `http://127.0.0.1:${adminPort}`,
        "--admin-token-file",
        `${fx.dir}/wrong.token`,
      ]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /ztna admin: The relay refused: unauthenticated/);
      // The hint gives the hash to look for, and says which setting is re-read when.
      assert.match(
        wrong.stderr,
        /hash sha256:[0-9a-f]{64}\): it reads token_hashes_file within 2 s/,
      );
      assert.ok(!wrong.stderr.includes("wrongwrong"), "the token is never shown");

      const down = await runZtna([
        "admin",
        "services",
        "--url",
        `http://127.0.0.1:${freeTcpPort()}`,
        "--admin-token-file",
        tokenFile,
      ]);
      assert.equal(down.code, 1);
      assert.match(
        down.stderr,
        /Cannot reach the admin endpoint at http:\/\/127\.0\.0\.1:\d+: nothing listens/,
      );
      assert.match(down.stderr, /hint: start the relay/);

      const usage = await runZtna(["admin", "tokens", "revoke", "--id", "x", ...remote]);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /invalid --id "x"/);
    } finally {
      await backend.shutdown();
    }
  },
);
