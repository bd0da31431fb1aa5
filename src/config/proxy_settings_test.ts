/**
 * Unit tests of the dialer's proxy settings: config over HTTPS_PROXY/NO_PROXY, and credentials from
 * ZTNA_PROXY_CREDENTIALS or a file, never echoed.
 * @module
 */
import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { parseConfigText } from "./load.ts";
import {
  applyProxyEnv,
  proxySettings,
  resolveProxyCredentials,
  splitNoProxy,
} from "./proxy_settings.ts";

Deno.test("proxySettings() lets the config win and reads HTTPS_PROXY and NO_PROXY", () => {
  const env = { HTTPS_PROXY: "http://envproxy:8080", no_proxy: "a.example.com, b.example.com" };
  assert.deepEqual(proxySettings({}, env), {
    proxy: "http://envproxy:8080",
    noProxy: ["a.example.com", "b.example.com"],
  });
  assert.deepEqual(proxySettings({ proxy: "http://cfg:1", no_proxy: [] }, env), {
    proxy: "http://cfg:1",
    noProxy: [],
  });
  // Upper case wins; a bare host:port is read as http://; empty is unset.
  assert.deepEqual(
    proxySettings({}, { HTTPS_PROXY: "up:1", https_proxy: "http://low:2", NO_PROXY: "" }),
    { proxy: "http://up:1", noProxy: [] },
  );
  assert.deepEqual(splitNoProxy(" a ,b\tc,,"), ["a", "b", "c"]);
});

Deno.test("proxySettings() names a bad variable and never repeats its value", () => {
  assert.throws(() => proxySettings({}, { https_proxy: "http://u:hunter2@p:1" }), (e) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /https_proxy/);
    assert.ok(!e.message.includes("hunter2"));
    return true;
  });
});

Deno.test("resolveProxyCredentials() takes ZTNA_PROXY_CREDENTIALS over the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/creds`;
    await Deno.writeTextFile(file, "alice:from-file\n");
    const where = { file: "c.toml", keyPath: "client.proxy_credentials_file" };
    assert.deepEqual(await resolveProxyCredentials(where, { file, env: {} }), {
      user: "alice",
      password: "from-file",
    });
    assert.deepEqual(
      await resolveProxyCredentials(where, { file, env: { ZTNA_PROXY_CREDENTIALS: "bob:env" } }),
      { user: "bob", password: "env" },
    );
    assert.equal(await resolveProxyCredentials(where, { file: undefined, env: {} }), undefined);
    await Deno.writeTextFile(file, "no-colon-secret\n");
    await assert.rejects(resolveProxyCredentials(where, { file, env: {} }), (e) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /client\.proxy_credentials_file/);
      assert.ok(!e.message.includes("secret"));
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a proxy URL with credentials in the config is refused, naming the key, not the secret", () => {
  const text = `[client]
relays = [{ address = "relay.example.com:4433" }]
proxy = "http://alice:hunter2@proxy.example.com:3128"
socks = "127.0.0.1:1080"
`;
  assert.throws(() => parseConfigText("client.toml", text), (e) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /client\.proxy/);
    assert.match(e.message, /proxy_credentials_file/);
    assert.ok(!e.message.includes("hunter2"), e.message);
    return true;
  });
});

Deno.test("applyProxyEnv() fills proxy and no_proxy from the environment, the file first", () => {
  const env = { HTTPS_PROXY: "http://envproxy:8080", NO_PROXY: "a.example.com" };
  const config: { relays: number; proxy?: string; no_proxy?: string[] } = { relays: 1 };
  assert.deepEqual(applyProxyEnv(config, env), {
    relays: 1,
    proxy: "http://envproxy:8080",
    no_proxy: ["a.example.com"],
  });
  assert.deepEqual(applyProxyEnv({ proxy: "http://file:1" }, env), {
    proxy: "http://file:1",
    no_proxy: ["a.example.com"],
  });
  assert.deepEqual(applyProxyEnv({}, {}), {});
});
