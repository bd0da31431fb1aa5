/**
 * What an operator sees when a second relay, a busy port or a shared state folder gets in the way:
 * one line that names the address or path and the fix, never a bare "os error 98".
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort } from "../_helpers/cluster.ts";

Deno.test("a second relay on the same state_dir stops and names the folder", async () => {
  await using fx = await Fixture.create("state-lock");
  await fx.relay(freeUdpPort());
  const second = await fx.relay(freeUdpPort()).then(
    () => assert.fail("the second relay should not start"),
    (e: Error) => e.message,
  );
  assert.match(second, /exited \(1\)/);
  assert.match(
    second,
    /Cannot use the state folder \S+\/state: another relay is running with it \(it holds \S+relay\.lock\); give each relay its own intermediate\.state_dir/,
  );
});

Deno.test("a relay on a busy UDP port names intermediate.listen", async () => {
  await using fx = await Fixture.create("busy-udp");
  const port = freeUdpPort();
  const busy = Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" });
  const failed = await fx.relay(port, `state_dir = "${fx.dir}/other-state"`).then(
    () => assert.fail("the relay should not start"),
    (e: Error) => e.message,
  );
  assert.match(
    failed,
    new RegExp(
      `Cannot listen on UDP 127\\.0\\.0\\.1:${port} \\(intermediate\\.listen\\): address in use; ` +
        "another relay \\(or another program\\) already listens there",
    ),
  );
  busy.close();
  assert.ok(!/os error 98/.test(failed));
});

Deno.test("a client forward on a busy port names the forward", async () => {
  await using fx = await Fixture.create("busy-tcp");
  const port = freeTcpPort();
  using _busy = Deno.listen({ hostname: "127.0.0.1", port });
  const client = await fx.client(
    [freeUdpPort()],
    { [`127.0.0.1:${port}`]: "web" },
    (await fx.token("client")).path,
    { wait: null },
  );
  assert.equal((await client.done).code, 1);
  assert.match(
    client.output,
    new RegExp(
      `ztna: Cannot listen on TCP 127\\.0\\.0\\.1:${port} \\(client\\.forward for service web\\): ` +
        "address in use",
    ),
  );
});

Deno.test("a proxy endpoint on a busy port names its key", async () => {
  await using fx = await Fixture.create("busy-socks");
  const port = freeTcpPort();
  using _busy = Deno.listen({ hostname: "127.0.0.1", port });
  const client = await fx.client([freeUdpPort()], {}, (await fx.token("client")).path, {
    wait: null,
    extra: `direct = false\nsocks = "127.0.0.1:${port}"`,
  });
  assert.equal((await client.done).code, 1);
  assert.match(
    client.output,
    new RegExp(
      `ztna: Cannot listen on TCP 127\\.0\\.0\\.1:${port} \\(client\\.socks\\): address in use; ` +
        ".* set client\\.socks to a free port",
    ),
  );
});

Deno.test("the relay's state is private: folder 0700, store files 0600", async () => {
  await using fx = await Fixture.create("state-modes");
  const relay = await fx.relay(freeUdpPort());
  await relay.stop();
  const mode = async (p: string) => ((await Deno.stat(p)).mode ?? 0) & 0o777;
  assert.equal(await mode(`${fx.dir}/state`), 0o700);
  for await (const entry of Deno.readDir(`${fx.dir}/state`)) {
    if (entry.isFile) assert.equal(await mode(`${fx.dir}/state/${entry.name}`), 0o600, entry.name);
  }
});
