/**
 * A real PostgreSQL server for tests: initdb + pg_ctl from Debian's `postgresql` package in a temp
 * folder, on loopback and a free port, TLS only (a dev CA signs its certificate), a password login.
 * Root cannot run postgres, so as root every command runs as the `postgres` system user (runuser).
 * Missing binaries throw a clear error: a test needing the server fails, never passes silently.
 * @module
 */
import { generateDevPki } from "../../src/pki/dev_pki.ts";

/** A running test server; `stop` ends it and removes its folder. */
export interface PostgresServer {
  /** `postgres://ztna@127.0.0.1:<port>/<database>` for {@link PostgresServer.database}. */
  url(database: string): string;
  port: number;
  password: string;
  /** PEM of the CA that signed the server's certificate. */
  caPem: string;
  caPath: string;
  /** Creates an empty database (each test gets its own, so they do not see each other's rows). */
  createDatabase(name: string): Promise<void>;
  /** Stops the server and keeps its data (an outage); {@link PostgresServer.resume} starts it. */
  pause(): Promise<void>;
  /** Starts a paused server again on the same port, with the same data. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** The folder holding initdb and pg_ctl, newest major version first. */
async function binDir(): Promise<string> {
  const root = "/usr/lib/postgresql";
  const versions: number[] = [];
  try {
    for await (const e of Deno.readDir(root)) if (/^\d+$/.test(e.name)) versions.push(+e.name);
  } catch { /* absent: reported below */ }
  for (const v of versions.sort((a, b) => b - a)) {
    const dir = `${root}/${v}/bin`;
    try {
      await Deno.stat(`${dir}/initdb`);
      return dir;
    } catch { /* next */ }
  }
  throw new Error(
    "PostgreSQL binaries not found under /usr/lib/postgresql/<version>/bin: install the Debian " +
      "package postgresql (.ci/run does); the PostgreSQL store tests need a real server",
  );
}

async function run(cmd: string, args: string[], asUser: string | undefined): Promise<string> {
  const [program, argv] = asUser === undefined
    ? [cmd, args]
    : ["runuser", ["-u", asUser, "--", cmd, ...args]];
  const out = await new Deno.Command(program, { args: argv, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${text}`);
  return text;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all(
    ["-u", "-g"].map(async (flag) => Number((await run("id", [flag, name], undefined)).trim())),
  );
  return { uid, gid };
}

/** Starts a server; call `stop` in a `finally`. */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = await binDir();
  const asUser = Deno.uid() === 0 ? "postgres" : undefined;
  const dir = await Deno.makeTempDir({ prefix: "ztna-pg-" });
  const password = crypto.randomUUID();
  const pki = await generateDevPki({ outDir: `${dir}/tls` });
  if (asUser !== undefined) {
    const { uid, gid } = await userIds(asUser);
    for (const path of [dir, `${dir}/tls`, pki.certPath, pki.keyPath]) {
      await Deno.chown(path, uid, gid);
    }
  }
  await Deno.writeTextFile(`${dir}/pwfile`, password);
  if (asUser !== undefined) await Deno.chown(`${dir}/pwfile`, (await userIds(asUser)).uid, null);
  const data = `${dir}/data`;
  await run(`${bin}/initdb`, [
    "-D",
    data,
    "-U",
    "ztna",
    `--pwfile=${dir}/pwfile`,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "-E",
    "UTF8",
    "--no-sync", // a throwaway cluster: skip initdb's fsyncs
  ], asUser);
  // TLS only from the network: a plain-text connection is refused by the server itself. The
  // Unix socket (for psql here) lives in the test's own 0700 folder.
  await Deno.writeTextFile(
    `${data}/pg_hba.conf`,
    "local all ztna trust\nhostssl all ztna 127.0.0.1/32 scram-sha-256\n",
  );
  const port = freePort();
  const options = [
    "-c listen_addresses=127.0.0.1",
    `-c port=${port}`,
    `-c unix_socket_directories=${dir}`,
    "-c ssl=on",
    `-c ssl_cert_file=${pki.certPath}`,
    `-c ssl_key_file=${pki.keyPath}`,
    // Throwaway data: skipping fsync keeps the contract's ~1,200 commits fast on shared cores.
    "-c fsync=off",
    "-c max_connections=40",
  ].join(" ");
  const start = () =>
    run(`${bin}/pg_ctl`, ["-D", data, "-l", `${dir}/log`, "-w", "-o", options, "start"], asUser);
  await start();
  const caPem = await Deno.readTextFile(pki.caCertPath);
  const psql = (sqlText: string) =>
    run(`${bin}/psql`, [
      "-h",
      dir,
      "-p",
      String(port),
      "-U",
      "ztna",
      "-d",
      "postgres",
      "-c",
      sqlText,
    ], asUser);
  return {
    url: (database) => `postgres://ztna@127.0.0.1:${port}/${database}`,
    port,
    password,
    caPem,
    caPath: pki.caCertPath,
    createDatabase: async (name) => {
      await psql(`CREATE DATABASE ${name}`);
    },
    pause: async () => {
      await run(`${bin}/pg_ctl`, ["-D", data, "-m", "fast", "-w", "stop"], asUser);
    },
    resume: async () => {
      await start();
    },
    stop: async () => {
      try {
        await run(`${bin}/pg_ctl`, ["-D", data, "-m", "fast", "-w", "stop"], asUser);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  };
}
