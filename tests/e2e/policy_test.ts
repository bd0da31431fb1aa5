/**
 * The access policy with real processes: a relay with `policy_file`, a connector, a client whose
 * token grants every service. Access is exactly what the policy says; a policy whose tests fail is
 * refused while the old one keeps serving; a reload that takes a service away ends the live flow
 * within 5 s while a flow to a service still allowed goes on; the refusal names its rule in the
 * admin API and the audit log, never on the wire; `ztna admin policy test|explain` answer offline.
 * @module
 */
import assert from "node:assert/strict";
import { adminCall, eventually } from "../_helpers/admin_http.ts";
import { Fixture, freeTcpPort, freeUdpPort } from "../_helpers/cluster.ts";
import { tcpServer } from "../_helpers/tcp.ts";
import { runZtna } from "../_helpers/ztna_process.ts";
import { AuditPage, RefusalList } from "../../src/admin/api_schemas.ts";

const T = { sanitizeOps: false, sanitizeResources: false };

/** Echoes every chunk back as it comes, for as long as the connection stays open. */
function echoServer() {
  return tcpServer(async (conn) => {
    for await (const chunk of conn.readable) {
      let at = 0;
      while (at < chunk.byteLength) at += await conn.write(chunk.subarray(at));
    }
  });
}

/** A TCP connection through the tunnel that answers `ping` with `ping`; null when it was refused. */
async function openEcho(port: number): Promise<Deno.TcpConn | null> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  if (await roundTrip(conn)) return conn;
  conn.close();
  return null;
}

/** Sends `ping` and waits up to 3 s for it back; false when the connection ended instead. */
async function roundTrip(conn: Deno.TcpConn): Promise<boolean> {
  try {
    await conn.write(new TextEncoder().encode("ping"));
    const buf = new Uint8Array(4);
    let got = 0;
    const deadline = AbortSignal.timeout(3_000);
    while (got < 4) {
      const n = await Promise.race([
        conn.read(buf.subarray(got)),
        new Promise<null>((r) => deadline.addEventListener("abort", () => r(null))),
      ]);
      if (n === null) return false;
      got += n;
    }
    return new TextDecoder().decode(buf) === "ping";
  } catch {
    return false;
  }
}

/** Resolves with the milliseconds until `conn` ends (EOF or reset); rejects after `ms`. */
async function endsWithin(conn: Deno.TcpConn, ms: number): Promise<number> {
  const start = Date.now();
  const buf = new Uint8Array(64);
  const deadline = start + ms;
  while (Date.now() < deadline) {
    const n = await Promise.race([
      conn.read(buf).catch(() => null),
      new Promise<"wait">((r) => setTimeout(() => r("wait"), deadline - Date.now())),
    ]);
    if (n === null) return Date.now() - start;
  }
  throw new Error(`connection still open after ${ms} ms`);
}

const policy = (aliceGroups: string, extra = "") => `
[groups]
engineering = [${aliceGroups}]
ops = ["alice"]

[[allow]]
name = "eng-web"
groups = ["engineering"]
services = ["web"]

[[allow]]
name = "ops-git"
groups = ["ops"]
services = ["git"]

[[deny]]
name = "nobody-db"
identities = ["*"]
services = ["db"]

[[test]]
identity = "alice"
service = "db"
expect = "deny"
rule = "nobody-db"
${extra}`;

Deno.test(
  "policy: access as written, failing tests refused, a reload ends the live flow it removes",
  T,
  async () => {
    await using fx = await Fixture.create("policy");
    const backend = echoServer();
    try {
      const policyPath = `${fx.dir}/policy.toml`;
      await Deno.writeTextFile(policyPath, policy('"alice"'));
      const relayPort = freeUdpPort();
      const { relay, url, adminToken } = await fx.adminRelay(relayPort, {
        extra: `policy_file = "${policyPath}"\npolicy_poll_ms = 200`,
      });
      await relay.waitFor(/Loaded policy .*2 allow and 1 deny rules, 1 tests passed/);
      const services = ["web", "git", "db", "wiki"];
      await fx.connector(
        [relayPort],
        Object.fromEntries(services.map((s) => [s, `127.0.0.1:${backend.port}`])),
        (await fx.token("connector", { services })).path,
      );
      const ports = Object.fromEntries(services.map((s) => [s, freeTcpPort()]));
      await fx.client(
        [relayPort],
        Object.fromEntries(services.map((s) => [`127.0.0.1:${ports[s]}`, s])),
        (await fx.token("client", { subject: "alice", services: ["*"] })).path,
      );

      // Exactly what the policy says, although the token grants "*".
      const web = await openEcho(ports.web);
      const git = await openEcho(ports.git);
      assert.ok(web && git, "web (eng-web) and git (ops-git) are allowed");
      assert.equal(await openEcho(ports.db), null, "db is denied by nobody-db");
      assert.equal(await openEcho(ports.wiki), null, "wiki has no grant");

      // The peer only ever sees the code; the refusal list names the rule.
      const refusals = await eventually("both refusals with their rules", async () => {
        const { items } = RefusalList.parse(
          (await adminCall(url, "/api/v1/refusals", { token: adminToken })).json(),
        );
        const db = items.find((r) => r.service === "db");
        const wiki = items.find((r) => r.service === "wiki");
        return db && wiki ? { db, wiki } : undefined;
      });
      assert.deepEqual([refusals.db.code, refusals.db.rule], ["unauthorized", "nobody-db"]);
      assert.equal(refusals.wiki.rule, "no grant");
      await relay.waitFor(/Refused flow to db: unauthorized .*\(rule nobody-db\)/);

      // A policy whose own test fails is refused; the old one keeps serving.
      await Deno.writeTextFile(
        policyPath,
        policy('"alice"', '[[test]]\nidentity = "alice"\nservice = "web"\nexpect = "deny"\n'),
      );
      await relay.waitFor(/Refused the new policy .*keeping the policy in force/);
      assert.ok(await roundTrip(web), "the live web flow still works");
      const web2 = await openEcho(ports.web);
      assert.ok(web2, "a new web flow still opens under the old policy");
      web2.close();

      // Taking engineering away from alice ends the live web flow within 5 s; git goes on.
      await Deno.writeTextFile(policyPath, policy(""));
      const ms = await endsWithin(web, 5_000);
      assert.ok(ms < 5_000, `ended after ${ms} ms`);
      assert.ok(await roundTrip(git), "the git flow, still allowed, goes on");
      assert.equal(await openEcho(ports.web), null, "web is refused from now on");
      await relay.waitFor(
        /Closing a flow of alice to web: the policy no longer allows it \(rule no grant\)/,
      );
      git.close();

      // The audit log keeps policy refusals with their rule.
      const audit = await eventually("an access.denied entry", async () => {
        const { items } = AuditPage.parse(
          (await adminCall(url, "/api/v1/audit", { token: adminToken })).json(),
        );
        return items.find((e) => e.action === "access.denied" && e.detail?.includes("nobody-db"));
      });
      assert.equal(audit.actor, "alice");
    } finally {
      backend.close();
    }
  },
);

Deno.test("ztna admin policy test and explain answer offline, naming the rule", T, async () => {
  await using fx = await Fixture.create("policy-cli");
  const good = `${fx.dir}/good.toml`;
  const bad = `${fx.dir}/bad.toml`;
  await Deno.writeTextFile(good, policy('"alice"'));
  await Deno.writeTextFile(
    bad,
    policy('"alice"', '[[test]]\nidentity = "bob"\nservice = "web"\nexpect = "allow"\n'),
  );
  const ok = await runZtna(["admin", "policy", "test", "--policy", good]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /ok: 2 allow and 1 deny rules, 1 tests passed/);
  const refused = await runZtna(["admin", "policy", "test", "--policy", bad]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /test\[1\]: expected allow for "bob" → "web", got deny/);

  const explain = (...args: string[]) =>
    runZtna(["admin", "policy", "explain", "--policy", good, ...args]);
  const allow = await explain("--identity", "carol", "--group", "engineering", "--service", "web");
  assert.equal(allow.code, 0, allow.stderr);
  assert.match(
    allow.stdout,
    /^allow: rule "eng-web"\n {2}allow rule "eng-web" grants "web" to group "engineering"/,
  );
  const deny = await explain("--identity", "alice", "--service", "db");
  assert.match(deny.stdout, /^deny: rule "nobody-db"\n {2}deny rule "nobody-db" matches everyone/);
  const none = await explain("--identity", "bob", "--service", "web");
  assert.match(none.stdout, /^deny: rule "no grant"/);
});

Deno.test(
  "policy: a reload that removes access closes the live direct path within 5 s",
  T,
  async () => {
    await using fx = await Fixture.create("policy-direct");
    const backend = echoServer();
    try {
      const policyPath = `${fx.dir}/policy.toml`;
      await Deno.writeTextFile(policyPath, policy('"alice"'));
      const relayPort = freeUdpPort();
      const relay = await fx.relay(
        relayPort,
        `policy_file = "${policyPath}"\npolicy_poll_ms = 200`,
      );
      const services = ["web", "git"];
      const connector = await fx.connector(
        [relayPort],
        Object.fromEntries(services.map((s) => [s, `127.0.0.1:${backend.port}`])),
        (await fx.token("connector", { services })).path,
        { extra: "direct = true" },
      );
      const local = freeTcpPort();
      const client = await fx.client(
        [relayPort],
        { [`127.0.0.1:${local}`]: "web" },
        (await fx.token("client", { subject: "alice", services: ["*"] })).path,
        { extra: "direct = true", logLevel: "debug" },
      );
      await client.waitFor(/Direct path to "?web"? is up/, 15_000);
      const web = await openEcho(local);
      assert.ok(web, "web is allowed");
      await client.waitFor(/open via "?direct/);

      await Deno.writeTextFile(policyPath, policy(""));
      const ms = await endsWithin(web, 5_000);
      assert.ok(ms < 5_000, `ended after ${ms} ms`);
      await connector.waitFor(/Closed the direct path of "?alice"? for "?web"?: "?unauthorized/);
      await relay.waitFor(/Closing direct paths of alice to web: .*\(rule no grant\)/);
      assert.equal(await openEcho(local), null, "web is refused from now on, direct or relayed");
    } finally {
      backend.close();
    }
  },
);
