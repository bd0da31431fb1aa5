/**
 * `ztna connect SERVICE` as an OpenSSH ProxyCommand against a real sshd on loopback: a command over
 * ssh (host key checked strictly), scp of 64 MiB both ways with matching SHA-256, services named
 * `id` and `id.ztna`, relay and CA from flags and ZTNA_* variables (no client config file), and a
 * service the token does not grant refused with the reason on stderr.
 * @module
 */
import assert from "node:assert/strict";
import { Fixture, freeTcpPort, freeUdpPort } from "../_helpers/cluster.ts";
import { LIMIT_TEST } from "../_helpers/limits.ts";
import { REPO_ROOT, RUN_FLAGS } from "../_helpers/ztna_process.ts";
import { WatchedProcess } from "../_helpers/watched_process.ts";

const td = new TextDecoder();

async function run(
  program: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(program, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return { code: r.code, out: td.decode(r.stdout), err: td.decode(r.stderr) };
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** sshd in `dir` on a loopback port: generated host key, one authorized user key. */
async function startSshd(dir: string, port: number) {
  await Deno.mkdir(dir, { recursive: true });
  for (const name of ["host", "user"]) {
    const r = await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/${name}`]);
    assert.equal(r.code, 0, r.err);
  }
  await Deno.copyFile(`${dir}/user.pub`, `${dir}/authorized_keys`);
  await Deno.writeTextFile(
    `${dir}/sshd_config`,
    `Port ${port}
ListenAddress 127.0.0.1
HostKey ${dir}/host
AuthorizedKeysFile ${dir}/authorized_keys
PidFile none
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
LogLevel INFO
`,
  );
  // sshd started as root needs its privilege separation folder.
  if (Deno.uid() === 0) await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const sshd = new WatchedProcess("/usr/sbin/sshd", ["-D", "-e", "-f", `${dir}/sshd_config`], {
    name: "sshd",
    cwd: dir,
    env: {},
  });
  await sshd.waitFor(/Server listening on 127\.0\.0\.1/);
  const hostKey = (await Deno.readTextFile(`${dir}/host.pub`)).trim().split(" ").slice(0, 2)
    .join(" ");
  await Deno.writeTextFile(`${dir}/known_hosts`, `web ${hostKey}\nweb.ztna ${hostKey}\n`);
  return sshd;
}

Deno.test("ztna connect: ssh and scp of 64 MiB through ProxyCommand", LIMIT_TEST, async () => {
  await using fx = await Fixture.create("connect-ssh");
  const ssh = `${fx.dir}/ssh`;
  const sshd = await startSshd(ssh, freeTcpPort());
  try {
    const relayPort = freeUdpPort();
    await fx.relay(relayPort);
    const sshdPort = Number(/^Port (\d+)/m.exec(await Deno.readTextFile(`${ssh}/sshd_config`))![1]);
    await fx.connector(
      [relayPort],
      { web: `127.0.0.1:${sshdPort}` },
      (await fx.token("connector", { services: ["web", "db"] })).path,
    );
    const token = (await fx.token("client", { services: ["web"] })).token;
    // The relay from a flag, the rest from the environment: no client config file at all.
    const proxy = [
      Deno.execPath(),
      ...RUN_FLAGS,
      `${REPO_ROOT}/main.ts`,
      "connect",
      "%h",
      "--relay",
      `127.0.0.1:${relayPort}`,
    ].join(" ");
    const env = {
      ZTNA_TOKEN: token,
      ZTNA_CA: fx.pki.caCertPath,
      ZTNA_SERVER_NAME: "localhost",
      NO_COLOR: "1",
    };
    const sshOptions = [
      "-F",
      "/dev/null",
      "-i",
      `${ssh}/user`,
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      `UserKnownHostsFile=${ssh}/known_hosts`,
      "-o",
      `ProxyCommand=${proxy}`,
    ];
    const user = (await run("id", ["-un"])).out.trim();

    const hello = await run("ssh", [...sshOptions, `${user}@web`, "echo hello-$((6*7))"], env);
    assert.equal(hello.code, 0, hello.err);
    assert.equal(hello.out, "hello-42\n");

    const original = `${fx.dir}/original.bin`;
    const chunk = new Uint8Array(1 << 20);
    using file = await Deno.open(original, { write: true, create: true });
    for (let i = 0; i < 64; i++) {
      crypto.getRandomValues(chunk.subarray(0, 65_536));
      for (let at = 65_536; at < chunk.length; at += 65_536) chunk.copyWithin(at, 0, 65_536);
      chunk[0] = i; // every MiB differs
      await file.write(chunk);
    }
    const up = await run("scp", [
      ...sshOptions,
      "-q",
      original,
      `${user}@web.ztna:${fx.dir}/up.bin`,
    ], env);
    assert.equal(up.code, 0, up.err);
    const down = await run("scp", [
      ...sshOptions,
      "-q",
      `${user}@web.ztna:${fx.dir}/up.bin`,
      `${fx.dir}/down.bin`,
    ], env);
    assert.equal(down.code, 0, down.err);
    const want = await sha256(original);
    assert.equal((await Deno.stat(`${fx.dir}/down.bin`)).size, 64 << 20);
    assert.equal(await sha256(`${fx.dir}/up.bin`), want);
    assert.equal(await sha256(`${fx.dir}/down.bin`), want);

    // A service the token does not grant: ssh fails, and ztna says why on stderr.
    const db = await run("ssh", [...sshOptions, `${user}@db`, "true"], env);
    assert.notEqual(db.code, 0);
    assert.match(db.err, /does not grant "db"/);
  } finally {
    await sshd.stop(5_000);
  }
});
