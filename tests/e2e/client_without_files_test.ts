/**
 * A client whose config and token live where the binary may not read (a user's home, a CI
 * workspace): the config comes on stdin with the CA's PEM inside it, the token in ZTNA_TOKEN, and
 * the tunnel works. The shell reads the files; the binary never asks for them.
 * @module
 */
import assert from "node:assert/strict";
import { backendBehind, Fixture, freeTcpPort, httpBackend } from "../_helpers/cluster.ts";

Deno.test("a client runs from a config on stdin with an inline CA and ZTNA_TOKEN", async () => {
  await using fx = await Fixture.create("stdin-client");
  await using backend = httpBackend("stdin");
  const relayPort = (await fx.tunnel(backend.port)).relayPort;
  const outside = await Deno.makeTempDir({ prefix: "ztna-home-" });
  try {
    const ca = (await Deno.readTextFile(fx.pki.caCertPath)).trim();
    const local = freeTcpPort();
    const config = `${outside}/client.toml`;
    await Deno.writeTextFile(
      config,
      `[client]\nca = """\n${ca}\n"""\nreconnect_min_ms = 200\n` +
        `[[client.relays]]\naddress = "127.0.0.1:${relayPort}"\n` +
        `[[client.forward]]\nlisten = "127.0.0.1:${local}"\nservice = "web"\n`,
    );
    const token = await fx.token("client");
    const client = fx.spawn(["--role=client", "--config", "-"], "stdin-client", {
      env: { ZTNA_TOKEN: token.token },
      // The shell opens the file (outside every folder the binary may read) and execs deno.
      wrapper: ["bash", "-c", `exec "$0" "$@" < '${config}'`],
    });
    await client.waitFor(/Connected to relay/);
    assert.equal(await backendBehind(local), "stdin");
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("a config on stdin is named <stdin> in errors", async () => {
  await using fx = await Fixture.create("stdin-error");
  const client = fx.spawn(["--role=client", "--config", "-"], "stdin-bad", {
    wrapper: ["bash", "-c", `exec "$0" "$@" <<< '[client]\nrelays = []'`],
  });
  assert.equal((await client.done).code, 2);
  assert.match(client.output, /ztna: <stdin>: /);
});
