/**
 * A client started with no config file: the relay and CA from ZTNA_* variables, the token from
 * ZTNA_TOKEN, forwards and a SOCKS endpoint from flags; curl reaches the services through both.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { runZtna } from "../_helpers/ztna_process.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function curl(args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "10", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout) };
}

/** A relay and a connector serving `web` and `api` from two HTTP backends (closed by the caller). */
async function twoServices(fx: Fixture) {
  const web = httpBackend("web-A");
  const api = httpBackend("api-B");
  const relayPort = freeUdpPort();
  await fx.relay(relayPort);
  await fx.connector(
    [relayPort],
    { web: `127.0.0.1:${web.port}`, api: `127.0.0.1:${api.port}` },
    (await fx.token("connector", { services: ["web", "api"] })).path,
  );
  return { relayPort, web, api };
}

Deno.test("a client with only flags and ZTNA_* forwards curl to services", opts, async () => {
  await using fx = await Fixture.create("client-flags");
  const { relayPort, web, api } = await twoServices(fx);
  try {
    const webPort = freeTcpPort();
    const apiPort = freeTcpPort();
    const socks = freeTcpPort();
    const client = fx.spawn(
      [
        "--role=client",
        "--forward",
        `web=127.0.0.1:${webPort}`,
        `--forward=api=${apiPort}`,
        "--socks",
        `127.0.0.1:${socks}`,
        "--server-name",
        "localhost",
      ],
      "client",
      {
        env: {
          ZTNA_RELAY: `127.0.0.1:${relayPort}`,
          ZTNA_CA: fx.pki.caCertPath,
          ZTNA_TOKEN: (await fx.token("client", { services: ["web", "api"] })).token,
        },
      },
    );
    await client.waitFor(/Connected to relay/);
    const viaWeb = await curl([`http://127.0.0.1:${webPort}/w`]);
    assert.equal(viaWeb.code, 0);
    assert.equal(viaWeb.out, "web-A GET /w 0");
    const viaApi = await curl([`http://127.0.0.1:${apiPort}/a`]);
    assert.equal(viaApi.out, "api-B GET /a 0");
    const viaSocks = await curl(["--socks5-hostname", `127.0.0.1:${socks}`, "http://api.ztna/s"]);
    assert.equal(viaSocks.out, "api-B GET /s 0");
  } finally {
    await web.shutdown();
    await api.shutdown();
  }
});

Deno.test("a client's --forward adds to its config file's forwards", opts, async () => {
  await using fx = await Fixture.create("client-flags-add");
  const { relayPort, web, api } = await twoServices(fx);
  try {
    const webPort = freeTcpPort();
    const apiPort = freeTcpPort();
    // A config with the relay and one forward; the command line adds the second.
    const config = await fx.config(`
[client]
relays = [{ address = "127.0.0.1:${relayPort}", server_name = "localhost" }]
ca = "${fx.pki.caCertPath}"
token_file = "${(await fx.token("client", { services: ["web", "api"] })).path}"
direct = false
[[client.forward]]
listen = "127.0.0.1:${webPort}"
service = "web"
`);
    const client = fx.spawn(
      ["--role=client", "--config", config, "--forward", `api=127.0.0.1:${apiPort}`],
      "client",
    );
    await client.waitFor(/Connected to relay/);
    assert.equal((await curl([`http://127.0.0.1:${webPort}/w`])).out, "web-A GET /w 0");
    assert.equal((await curl([`http://127.0.0.1:${apiPort}/a`])).out, "api-B GET /a 0");
  } finally {
    await web.shutdown();
    await api.shutdown();
  }
});

Deno.test("a client's bad --forward is a usage error naming the flag", opts, async () => {
  const r = await runZtna(
    ["--role=client", "--relay", "127.0.0.1:4433", "--forward", "web:8080"],
    { env: { ZTNA_TOKEN: "a.b.c" } },
  );
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--forward.*expected SERVICE=LOCAL_ADDRESS/);
  const none = await runZtna(["--role=client", "--forward", "web=8080"]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /needs a config file, or a relay/);
});
