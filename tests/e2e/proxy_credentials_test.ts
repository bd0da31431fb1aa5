/**
 * The client's SOCKS5 and HTTP CONNECT endpoints bound off loopback, on the host side of a veth
 * pair to a network namespace the test makes (198.18.77.0/30): curl from inside the namespace (a
 * real other host) succeeds with `--socks5-hostname user:pass@` and `--proxy-user`; a client with
 * no username/password method gets 0xFF, a wrong password RFC 1929 status 1, an HTTP request
 * without or with wrong credentials 407; the client's log says why without either password. With
 * no credentials configured, such an endpoint is refused at start with its key.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import {
  randomHex,
  removeGroup,
  run,
  SETUP_TIMEOUT_MS,
  sweepLeftovers,
  writeOwner,
} from "../netns/_lab_host.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const HOST_SIDE = "198.18.77.1";
const NS_SIDE = "198.18.77.2";
const PASSWORD = "s3cret-Pw:9";
const WRONG = "wrong-Pw-7";

/** Root and `ip`: the namespace and veth pair can be made here. */
async function canBuild(): Promise<boolean> {
  try {
    return Deno.uid() === 0 && (await run(["ip", "-V"], SETUP_TIMEOUT_MS)).code === 0;
  } catch {
    return false;
  }
}

/** A namespace joined to this host by a veth pair: HOST_SIDE here, NS_SIDE there. */
async function peerNamespace(): Promise<AsyncDisposable & { exec(cmd: string[]): string[] }> {
  const prefix = `zt${randomHex(4)}`;
  const ns = `${prefix}-cliA`;
  await sweepLeftovers(prefix);
  await writeOwner(prefix);
  const steps = [
    ["ip", "netns", "add", ns],
    ["ip", "link", "add", `${prefix}h`, "type", "veth", "peer", "name", `${prefix}n`],
    ["ip", "link", "set", `${prefix}n`, "netns", ns],
    ["ip", "addr", "add", `${HOST_SIDE}/30`, "dev", `${prefix}h`],
    ["ip", "link", "set", `${prefix}h`, "up"],
    ["ip", "-n", ns, "addr", "add", `${NS_SIDE}/30`, "dev", `${prefix}n`],
    ["ip", "-n", ns, "link", "set", `${prefix}n`, "up"],
    ["ip", "-n", ns, "link", "set", "lo", "up"],
  ];
  const cleanup = async () => {
    await removeGroup(prefix);
    // Deleting the namespace deletes both ends of the pair; this is for a half-built one.
    await run(["ip", "link", "del", `${prefix}h`], SETUP_TIMEOUT_MS);
  };
  for (const step of steps) {
    const out = await run(step, SETUP_TIMEOUT_MS);
    if (out.code !== 0) {
      await cleanup();
      throw new Error(`${step.join(" ")}: ${out.stderr.trim()}`);
    }
  }
  return { exec: (cmd) => ["ip", "netns", "exec", ns, ...cmd], [Symbol.asyncDispose]: cleanup };
}

/** curl run inside the peer namespace: the other host. */
async function curlFrom(
  peer: { exec(cmd: string[]): string[] },
  args: string[],
): Promise<{ code: number; body: string }> {
  const out = await run(peer.exec(["curl", "-sS", "--max-time", "10", ...args]), 15_000);
  return { code: out.code, body: out.stdout };
}

async function exchange(port: number, send: Uint8Array, want: number): Promise<number[]> {
  const conn = await Deno.connect({ hostname: HOST_SIDE, port });
  try {
    await conn.write(send);
    const buf = new Uint8Array(512);
    let at = 0;
    while (at < want) {
      const n = await conn.read(buf.subarray(at));
      if (n === null) break;
      at += n;
    }
    return [...buf.subarray(0, at)];
  } finally {
    conn.close();
  }
}

function userPass(user: string, pass: string): Uint8Array {
  const enc = new TextEncoder();
  const [u, p] = [enc.encode(user), enc.encode(pass)];
  return Uint8Array.of(1, u.length, ...u, p.length, ...p);
}

Deno.test({
  name: "proxy endpoints off loopback ask for credentials (SOCKS5 RFC 1929, HTTP Basic)",
  ...opts,
  ignore: !(await canBuild()),
  fn: async () => {
    await using fx = await Fixture.create("proxy-credentials");
    await using peer = await peerNamespace();
    const web = httpBackend("web-A");
    try {
      const { relayPort } = await fx.served(web.port);
      const credentials = `${fx.dir}/endpoint-credentials`;
      await Deno.writeTextFile(credentials, `alice:${PASSWORD}\n`, { mode: 0o600 });
      const [socksPort, httpPort] = [freeTcpPort(), freeTcpPort()];
      const client = await fx.client(
        [relayPort],
        {},
        (await fx.token("client", { services: ["web"] })).path,
        {
          extra: `direct = false\nsocks = "${HOST_SIDE}:${socksPort}"\n` +
            `http_proxy = "${HOST_SIDE}:${httpPort}"\nendpoint_credentials_file = "${credentials}"`,
        },
      );
      await client.waitFor(/HTTP CONNECT endpoint listening on/);
      const socks = `${HOST_SIDE}:${socksPort}`;

      // From the other host, with the right credentials: both endpoints carry the request.
      const viaSocks = await curlFrom(peer, [
        "--socks5-hostname",
        `alice:${PASSWORD}@${socks}`,
        "http://web.ztna/x",
      ]);
      assert.deepEqual(viaSocks, { code: 0, body: "web-A GET /x 0" });
      const viaHttp = await curlFrom(peer, [
        "--proxytunnel",
        "--proxy",
        `http://${HOST_SIDE}:${httpPort}`,
        "--proxy-user",
        `alice:${PASSWORD}`,
        "http://web.ztna/x",
      ]);
      assert.deepEqual(viaHttp, { code: 0, body: "web-A GET /x 0" });

      // Wrong or missing credentials: refused by each protocol's own codes.
      const wrongSocks = await curlFrom(peer, [
        "--socks5-hostname",
        `alice:${WRONG}@${socks}`,
        "http://web.ztna/x",
      ]);
      assert.notEqual(wrongSocks.code, 0);
      assert.deepEqual(await exchange(socksPort, Uint8Array.of(5, 1, 0), 2), [5, 0xff]);
      assert.deepEqual(
        await exchange(socksPort, Uint8Array.of(5, 1, 2, ...userPass("alice", WRONG)), 4),
        [5, 2, 1, 1],
      );
      assert.deepEqual(
        await exchange(socksPort, Uint8Array.of(5, 1, 2, ...userPass("alice", PASSWORD)), 4),
        [5, 2, 1, 0],
      );
      const noUser = await curlFrom(peer, [
        "-o",
        "/dev/null",
        "-w",
        "%{http_connect}",
        "--proxytunnel",
        "--proxy",
        `http://${HOST_SIDE}:${httpPort}`,
        "http://web.ztna/x",
      ]);
      assert.equal(noUser.body, "407");
      const wrongUser = await curlFrom(peer, [
        "-o",
        "/dev/null",
        "-w",
        "%{http_connect}",
        "--proxytunnel",
        "--proxy",
        `http://${HOST_SIDE}:${httpPort}`,
        "--proxy-user",
        `alice:${WRONG}`,
        "http://web.ztna/x",
      ]);
      assert.equal(wrongUser.body, "407");

      await client.waitFor(/Refused a SOCKS5 client: wrong user name or password/);
      await client.waitFor(/Refused an HTTP proxy request: credentials required/);
      await client.waitFor(/Refused an HTTP proxy request: wrong user name or password/);
      assert.match(client.output, /it offers no method this endpoint speaks/);
      assert.ok(!client.output.includes(PASSWORD), "the password is in no log line");
      assert.ok(!client.output.includes(WRONG), "nor is a wrong one");
    } finally {
      await web.shutdown();
    }
  },
});

Deno.test({
  name: "a proxy endpoint off loopback without credentials is refused at start, naming the key",
  ...opts,
  fn: async () => {
    await using fx = await Fixture.create("proxy-credentials-none");
    const path = await fx.config(`
[client]
relays = [{ address = "127.0.0.1:${freeUdpPort()}", server_name = "localhost" }]
ca = "${fx.pki.caCertPath}"
token_file = "${(await fx.token("client")).path}"
http_proxy = "${HOST_SIDE}:${freeTcpPort()}"
`);
    const client = fx.spawn(["--role=client", "--config", path], "client");
    const status = await client.done;
    assert.equal(status.code, 2);
    assert.match(
      client.output,
      /client\.http_proxy: 198\.18\.77\.1:\d+ is not a loopback address; .*endpoint_credentials_file/,
    );
  },
});
