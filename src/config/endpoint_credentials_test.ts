import assert from "node:assert/strict";
import {
  exposedEndpoint,
  parseEndpointCredentials,
  resolveEndpointCredentials,
} from "./endpoint_credentials.ts";
import { ConfigError } from "./config_error.ts";

Deno.test("parseEndpointCredentials splits at the first colon and checks RFC 1929's lengths", () => {
  assert.deepEqual(parseEndpointCredentials("alice:pa:ss"), {
    ok: true,
    value: { username: "alice", password: "pa:ss" },
  });
  assert.equal(parseEndpointCredentials("alice").ok, false);
  assert.equal(parseEndpointCredentials(":pw").ok, false);
  assert.equal(parseEndpointCredentials("alice:").ok, false);
  assert.equal(parseEndpointCredentials(`alice:${"x".repeat(256)}`).ok, false);
});

Deno.test("exposedEndpoint names the key of an endpoint off loopback without credentials", () => {
  const off = { socks: "127.0.0.1:1080", http_proxy: "198.18.0.1:8080" };
  const error = exposedEndpoint(off, "client.toml", false);
  assert.ok(error instanceof ConfigError);
  assert.equal(error.keyPath, "client.http_proxy");
  assert.match(
    error.message,
    /client\.toml: client\.http_proxy: 198\.18\.0\.1:8080 is not a loopback/,
  );
  assert.equal(exposedEndpoint(off, "client.toml", true), undefined);
  assert.equal(exposedEndpoint({ socks: "localhost:1080" }, "c", false), undefined);
});

Deno.test("resolveEndpointCredentials: the variable wins; errors never show the text", async () => {
  const where = { file: "c.toml", keyPath: "client.endpoint_credentials_file" };
  assert.deepEqual(
    await resolveEndpointCredentials(where, {
      file: "/nonexistent",
      env: { ZTNA_ENDPOINT_CREDENTIALS: "u:p" },
    }),
    { username: "u", password: "p" },
  );
  await assert.rejects(
    resolveEndpointCredentials(where, {
      file: undefined,
      env: { ZTNA_ENDPOINT_CREDENTIALS: "secretword" },
    }),
    (e: unknown) =>
      e instanceof ConfigError && e.keyPath === "ZTNA_ENDPOINT_CREDENTIALS" &&
      !e.message.includes("secretword"),
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/creds`, "nocolonsecret\n");
    await assert.rejects(
      resolveEndpointCredentials(where, { file: `${dir}/creds`, env: {} }),
      (e: unknown) =>
        e instanceof ConfigError && e.keyPath === "client.endpoint_credentials_file" &&
        !e.message.includes("nocolonsecret"),
    );
    await Deno.writeTextFile(`${dir}/creds`, "bob:pw\nignored\n");
    assert.deepEqual(await resolveEndpointCredentials(where, { file: `${dir}/creds`, env: {} }), {
      username: "bob",
      password: "pw",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
