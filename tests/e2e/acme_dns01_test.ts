/**
 * dns-01 through the operator's hook: under the shipped permission set the relay stops at once
 * with an error naming the flag to add; with `--allow-run=<hook>` it obtains a certificate from
 * Pebble, the hook publishing and removing the TXT record (the test's DNS responder serves what
 * the hook wrote), called with exactly the documented argv.
 * @module
 */
import assert from "node:assert/strict";
import { backendBehind, Fixture, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { AcmeWorld } from "../_helpers/pebble.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** A hook script: logs its argv, writes or removes `<txtDir>/<record name>`. */
async function writeHook(dir: string, txtDir: string): Promise<{ path: string; log: string }> {
  const path = `${dir}/acme-dns-hook`;
  const log = `${dir}/hook-calls.txt`;
  await Deno.writeTextFile(
    path,
    `#!/bin/sh
echo "$*" >> '${log}'
case "$1" in
  present) printf '%s' "$4" > '${txtDir}'/"$3" ;;
  cleanup) rm -f '${txtDir}'/"$3" ;;
  *) exit 2 ;;
esac
`,
    { mode: 0o755 },
  );
  await Deno.chmod(path, 0o755);
  return { path, log };
}

/** A command prefix that runs `deno run …` with --allow-run=<hook> beside -P=ztna. */
async function allowRunWrapper(dir: string, hook: string): Promise<string[]> {
  const path = `${dir}/allow-run.sh`;
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\ndeno="$1"; shift; sub="$1"; shift\nexec "$deno" "$sub" '--allow-run=${hook}' "$@"\n`,
    { mode: 0o755 },
  );
  await Deno.chmod(path, 0o755);
  return [path];
}

Deno.test(
  "relay with dns-01 under the shipped permission set stops naming --allow-run",
  opts,
  async () => {
    await using fx = await Fixture.create("acme-dns-perm");
    await using world = await AcmeWorld.create(fx, { validitySeconds: 3_600 });
    const hook = await writeHook(fx.dir, world.txtDir);
    const { relay } = await world.startRelay(freeUdpPort(), {
      acme: `challenge = "dns-01"\ndns_hook = "${hook.path}"`,
      wait: null,
    });
    const status = await relay.done;
    assert.equal(status.code, 1, relay.output);
    assert.match(
      relay.output,
      new RegExp(`ztna: Cannot run the dns-01 hook "${hook.path}".*--allow-run=${hook.path}`),
    );
    assert.deepEqual(world.pebble.issuedSerials, []);
  },
);

Deno.test(
  "relay obtains a certificate by dns-01 through its hook when --allow-run grants it",
  opts,
  async () => {
    await using fx = await Fixture.create("acme-dns");
    await using world = await AcmeWorld.create(fx, { validitySeconds: 3_600 });
    const backend = httpBackend("backend");
    try {
      const hook = await writeHook(fx.dir, world.txtDir);
      const relayPort = freeUdpPort();
      const { relay } = await world.startRelay(relayPort, {
        acme: `challenge = "dns-01"\ndns_hook = "${hook.path}"`,
        wrapper: await allowRunWrapper(fx.dir, hook.path),
      });
      assert.match(relay.output, /Validated "?localhost"? with "?dns-01/);
      assert.equal(world.pebble.issuedSerials.length, 1);
      // present, then cleanup, with the record name and a 43-character digest.
      const calls = (await Deno.readTextFile(hook.log)).trim().split("\n");
      assert.equal(calls.length, 2, calls.join("\n"));
      const [present, cleanup] = calls.map((c) => c.split(" "));
      assert.deepEqual(present.slice(0, 3), ["present", "localhost", "_acme-challenge.localhost"]);
      assert.match(present[3], /^[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(cleanup, ["cleanup", ...present.slice(1)]);
      assert.deepEqual([...Deno.readDirSync(world.txtDir)], []);
      assert.ok(world.dns.queries.includes("TXT _acme-challenge.localhost"));

      const { local } = await fx.attach([relayPort], backend.port, { ca: world.rootPath });
      assert.equal(await backendBehind(local), "backend");
    } finally {
      await backend.shutdown();
    }
  },
);
