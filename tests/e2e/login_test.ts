/**
 * Single sign-on with a real OpenID Connect provider (npm `oidc-provider`) on loopback HTTPS: two
 * people log in with the device flow (`ztna login`), reach exactly what the policy allows their
 * groups; a group change at the provider takes effect at the next refresh without a reconnect; a
 * forged, expired or wrong-audience ID token is refused at HELLO.
 * @module
 */
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import {
  backendBehind,
  Fixture,
  freeTcpPort,
  freeUdpPort,
  httpBackend,
} from "../_helpers/cluster.ts";
import { OidcIdp } from "../_helpers/oidc_idp.ts";
import { DialError, dialRelay, helloRelay } from "../../src/transport/dial.ts";
import type { ZtnaProcess } from "../_helpers/ztna_process.ts";

const T = { sanitizeOps: false, sanitizeResources: false };

const POLICY = `
[[allow]]
name = "engineering-web"
groups = ["engineering"]
services = ["web"]

[[allow]]
name = "contractors-db"
groups = ["contractors"]
services = ["db"]
`;

/** A relay with single sign-on against `idp`, the policy above, and a connector for web and db. */
async function world(name: string, idp: (f: Fixture) => Promise<OidcIdp>, limits = "") {
  const f = await Fixture.create(name);
  const provider = await idp(f);
  const relayPort = await freeUdpPort();
  const policy = `${f.dir}/policy.toml`;
  await Deno.writeTextFile(policy, POLICY);
  const relay = await f.relay(
    relayPort,
    `policy_file = "${policy}"
[intermediate.oidc]
issuer = "${provider.issuer}"
client_id = "ztna"
ca = "${f.pki.caCertPath}"
signing_key = "${await f.signingKeyFile()}"
token_ttl_ms = 12000
`,
    limits,
  );
  const web = httpBackend("web");
  const db = httpBackend("db");
  const connectorToken = await f.token("connector", { services: ["web", "db"] });
  await f.connector([relayPort], {
    web: `127.0.0.1:${web.port}`,
    db: `127.0.0.1:${db.port}`,
  }, connectorToken.path);
  return { f, provider, relay, relayPort, backends: [web, db] };
}

async function startIdp(f: Fixture): Promise<OidcIdp> {
  return await OidcIdp.start({
    cert: await Deno.readTextFile(f.pki.certPath),
    key: await Deno.readTextFile(f.pki.keyPath),
    ca: await Deno.readTextFile(f.pki.caCertPath),
    accounts: [
      { sub: "alice@example.com", groups: ["engineering"] },
      { sub: "bob@example.com", groups: ["contractors"] },
    ],
  });
}

/** `ztna login` for one person: signs in at the provider as the person would, waits for the relay. */
async function login(
  f: Fixture,
  idp: OidcIdp,
  relayPort: number,
  person: string,
): Promise<{ client: ZtnaProcess; webPort: number; dbPort: number }> {
  const webPort = await freeTcpPort();
  const dbPort = await freeTcpPort();
  const config = await f.config(`
[client]
ca = "${f.pki.caCertPath}"
direct = false
keepalive_ms = 500
idle_timeout_ms = 3000
reconnect_min_ms = 200
reconnect_max_ms = 2000

[[client.relays]]
address = "127.0.0.1:${relayPort}"

[[client.forward]]
listen = "127.0.0.1:${webPort}"
service = "web"

[[client.forward]]
listen = "127.0.0.1:${dbPort}"
service = "db"

[client.login]
issuer = "${idp.issuer}"
client_id = "ztna"
`);
  const client = f.spawn(["login", "--config", config], `login-${person}`);
  const [, url] = await client.waitFor(/or open "?(https:\/\/[^"\s]+user_code=[^"\s]+)/);
  await idp.approveDevice(url, person);
  await client.waitFor(/Connected to relay/);
  return { client, webPort, dbPort };
}

/** Which of web and db answer through a client's forwards. */
async function reachable(ports: { webPort: number; dbPort: number }): Promise<string[]> {
  const out: string[] = [];
  for (const [name, port] of [["web", ports.webPort], ["db", ports.dbPort]] as const) {
    const answer = await backendBehind(port).catch(() => "");
    if (answer === name) out.push(name);
  }
  return out;
}

Deno.test(
  "login: device-flow login of two people, access as the policy says; a group change at the provider counts at the next refresh",
  T,
  async () => {
    const { f, provider, relayPort, backends } = await world("login-policy", startIdp);
    await using _f = f;
    await using _idp = provider;
    try {
      const alice = await login(f, provider, relayPort, "alice@example.com");
      const bob = await login(f, provider, relayPort, "bob@example.com");
      assert.deepEqual(await reachable(alice), ["web"]);
      assert.deepEqual(await reachable(bob), ["db"]);

      provider.setGroups("alice@example.com", ["contractors"]);
      // The relay's token lives 12 s; the client refreshes at two thirds of it, on the same connection.
      await alice.client.waitFor(/Login refreshed/, 15_000);
      assert.deepEqual(await reachable(alice), ["db"]);
      assert.equal(alice.client.output.match(/Connected to relay/g)?.length, 1);
    } finally {
      for (const b of backends) await b.shutdown();
    }
  },
);

Deno.test(
  "login: a forged, expired or wrong-audience ID token is refused at HELLO",
  T,
  async () => {
    const { f, provider, relayPort, backends } = await world("login-refused", startIdp);
    await using _f = f;
    await using _idp = provider;
    const caCerts = [await Deno.readTextFile(f.pki.caCertPath)];
    const hello = async (idToken: string) => {
      const conn = await dialRelay({ address: `127.0.0.1:${relayPort}` }, {
        caCerts,
        keepAliveMs: 500,
        idleTimeoutMs: 3_000,
      });
      try {
        const session = await helloRelay(conn, "client", { idToken });
        return `welcome ${session.welcome.identity} ${session.welcome.issuedToken ? "token" : ""}`;
      } catch (e) {
        if (e instanceof DialError && e.failure.kind === "refused") return e.failure.code;
        throw e;
      } finally {
        conn.close();
      }
    };
    const claims = (over: Record<string, unknown>) => {
      const now = Math.floor(Date.now() / 1_000);
      return {
        sub: "mallory@example.com",
        groups: ["engineering"],
        iss: provider.issuer,
        aud: "ztna",
        iat: now,
        exp: now + 60,
        ...over,
      };
    };
    const sign = async (key: CryptoKey, payload: Record<string, unknown>) =>
      await new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid: "idp-1" }).sign(key);
    try {
      // The real thing first, so the refusals below are about the token and nothing else.
      const real = await provider.deviceLogin("bob@example.com");
      assert.equal(await hello(real.idToken), "welcome bob@example.com token");

      const { generateKeyPair } = await import("jose");
      const forger = await generateKeyPair("RS256");
      assert.equal(await hello(await sign(forger.privateKey, claims({}))), "token_invalid");

      const past = Math.floor(Date.now() / 1_000) - 600;
      assert.equal(
        await hello(await sign(provider.signingKey, claims({ iat: past - 60, exp: past }))),
        "token_expired",
      );

      const other = await provider.deviceLogin("bob@example.com", "other-app");
      assert.equal(await hello(other.idToken), "token_invalid");
      assert.equal(
        await hello(await sign(provider.signingKey, claims({ iss: "https://evil.example.com" }))),
        "token_invalid",
      );
    } finally {
      for (const b of backends) await b.shutdown();
    }
  },
);

/** One kept-alive HTTP connection through a forward: each `get` is a request on it. */
async function keptAlive(port: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const buf = new Uint8Array(4096);
  return {
    async get(): Promise<string> {
      await conn.write(new TextEncoder().encode("GET /held HTTP/1.1\r\nHost: web\r\n\r\n"));
      let text = "";
      const deadline = Date.now() + 5_000;
      while (!/\r\n\r\n.*held 0$/s.test(text) && Date.now() < deadline) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      return text;
    },
    close: () => conn.close(),
  };
}

Deno.test(
  "login: flows on further relay connections outlive the first issued token (each gets the refresh)",
  T,
  async () => {
    // Two flows per connection: four held flows need further connections of the same session.
    const { f, provider, relayPort, backends } = await world(
      "login-pool",
      startIdp,
      "max_streams_per_connection = 3",
    );
    await using _f = f;
    await using _idp = provider;
    try {
      const alice = await login(f, provider, relayPort, "alice@example.com");
      const loggedInAt = Date.now();
      const held = [];
      for (let i = 0; i < 4; i++) held.push(await keptAlive(alice.webPort));
      for (const h of held) assert.match(await h.get(), /web GET \/held 0$/);
      await alice.client.waitFor(/Login refreshed/, 15_000);
      // Past the first issued token's end (12 s): every connection must have been refreshed.
      await new Promise((r) => setTimeout(r, Math.max(0, loggedInAt + 14_000 - Date.now())));
      for (const h of held) assert.match(await h.get(), /web GET \/held 0$/);
      for (const h of held) h.close();
    } finally {
      for (const b of backends) await b.shutdown();
    }
  },
);
