/**
 * Executable documentation: runs the README's "Running it for real" and docs/ADMIN.md's first
 * admin token and lost-token steps exactly as written — every command and config file is read out
 * of the markdown's fenced blocks, none is retyped here — and checks keygen → certificates →
 * tokens → relay, connector, client → curl → revoke → refused.
 *
 * Where it runs: a private mount and network namespace (unshare, root only), so the documented
 * paths are real: an overlay over /etc (fresh /etc/ztna, /etc/hosts with relay.example.com →
 * 127.0.0.1), a tmpfs over /var/lib (fresh /var/lib/ztna), and 192.0.2.10 on the namespace's own
 * loopback for the documented backend. Nothing outside the namespace is touched. `ztna` on PATH is
 * tools/ztna: main.ts under the permission set `ztna`, what `deno task compile` embeds.
 *
 * How the steps run: `toml` blocks whose first line is `# /etc/ztna/<file>` are written to that
 * file; every other line of an `sh` block runs in bash, in a fresh folder outside the repository.
 * `ztna --role=…` commands run in the background until their readiness line (a command seen before
 * is restarted: the docs say "restart"). Each other command must exit 0 within 6 s of retries (the
 * docs promise 2 s for revocations and admin token hashes); one whose comment starts with "fails"
 * must exit non-zero within 6 s. One placeholder is filled in: `<token id>`, the id the latest
 * `token issue`/`tokens issue … --subject alice --out …` printed.
 * @module
 */
import assert from "node:assert/strict";
import { type DocCommand, type DocStep, sectionSteps } from "../_helpers/doc_blocks.ts";
import { REPO_ROOT } from "../_helpers/ztna_process.ts";
import { WatchedProcess } from "../_helpers/watched_process.ts";

/** The sections run, in this order (one deployment, ADMIN.md continues the README's). */
const SECTIONS = [
  { file: "README.md", heading: "Running it for real" },
  { file: "docs/ADMIN.md", heading: "Turning it on, and the first admin token" },
  { file: "docs/ADMIN.md", heading: "Replacing a lost token" },
] as const;

/** The documented backend (examples/connector.toml) and what it answers. */
const BACKEND = { hostname: "192.0.2.10", port: 8080, body: "hello from the private web server" };

/** How long a command may take to reach its documented outcome (revocation: 2 s poll). */
const OUTCOME_MS = 6_000;

const canRun = Deno.uid() === 0 && Deno.build.os === "linux" &&
  (await Deno.stat("/usr/bin/unshare").then(() => true, () => false));

/** Sets up the namespace, then waits for stdin to close (the test ending ends it). */
const SETUP = `set -eu
t="$1"
mkdir -p "$t/etc-up" "$t/etc-work"
if ! mount -t overlay overlay -o "lowerdir=/etc,upperdir=$t/etc-up,workdir=$t/etc-work" /etc 2>/dev/null; then
  # /tmp on an overlay (containers) cannot hold an upper layer: use a copy of /etc instead.
  cp -a /etc "$t/etc-copy" && mount --bind "$t/etc-copy" /etc
fi
rm -rf /etc/ztna
echo "127.0.0.1 relay.example.com" >> /etc/hosts
mount -t tmpfs -o mode=0755 tmpfs /var/lib
ip link set lo up
ip addr add ${BACKEND.hostname}/32 dev lo
echo namespace-ready
read -r _ || true
`;

/** Runs commands inside the namespace held by one `unshare` process. */
class Namespace implements AsyncDisposable {
  private constructor(
    readonly child: Deno.ChildProcess,
    readonly stdin: WritableStreamDefaultWriter<Uint8Array>,
  ) {}

  /** Starts the holder and waits until the namespace is set up. */
  static async create(tmp: string): Promise<Namespace> {
    const child = new Deno.Command("unshare", {
      args: ["--mount", "--net", "--propagation", "private", "bash", "-c", SETUP, "setup", tmp],
      // The holder lives until its stdin closes: if this test dies, the namespace goes with it.
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const ns = new Namespace(child, child.stdin.getWriter());
    const errors = new Response(child.stderr).text();
    let seen = "";
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      seen += decoder.decode(chunk, { stream: true });
      if (seen.includes("namespace-ready")) break;
    }
    if (!seen.includes("namespace-ready")) {
      throw new Error(`cannot set up the namespace: ${seen}${await errors}`);
    }
    return ns;
  }

  /** `nsenter` arguments that put a program into this namespace. */
  enter(...argv: string[]): string[] {
    return ["-t", String(this.child.pid), "-m", "-n", "--", ...argv];
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stdin.close().catch(() => {});
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await this.child.status;
    clearTimeout(timer);
  }
}

/** Runs one shell command in the namespace to completion. */
async function runShell(
  ns: Namespace,
  command: string,
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("nsenter", {
    args: ns.enter("bash", "-c", command),
    cwd,
    env,
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** What a long-running role prints once it is ready. */
function readiness(command: string): RegExp[] {
  if (command.includes("--role=intermediate")) {
    return [/Relay listening on/, /Admin endpoint listening on/];
  }
  if (command.includes("--role=connector")) return [/Registered service "?web/];
  return [/Forwarding 127\.0\.0\.1:8080 to service "?web/, /Connected to relay/];
}

/** Replaces the one placeholder the docs use. */
function fill(command: string, ids: Map<string, string>): string {
  return command.replaceAll("<token id>", () => {
    const id = ids.get("alice");
    assert.ok(id, `"${command}" needs alice's token id, but no command issued one yet`);
    return id;
  });
}

function expectsFailure(cmd: DocCommand): boolean {
  return /^fails\b/.test(cmd.comment);
}

Deno.test("docs extraction: the runnable sections hold the whole deployment", async () => {
  const steps = await allSteps();
  const commands = steps.flatMap((s) => s.kind === "command" ? [s.value.command] : []);
  const files = steps.flatMap((s) => s.kind === "file" ? [s.value.path] : []);
  assert.deepEqual(files, [
    "/etc/ztna/relay.toml",
    "/etc/ztna/connector.toml",
    "/etc/ztna/client.toml",
  ]);
  for (
    const needle of [
      "ztna admin keygen",
      "ztna admin dev-certs",
      "--role=intermediate",
      "ztna admin token issue",
      "--role=connector",
      "--role=client",
      "curl",
      "ztna admin token revoke",
      "ztna admin admin-token create",
      "ztna admin tokens revoke",
    ]
  ) {
    assert.ok(commands.some((c) => c.includes(needle)), `no documented command has ${needle}`);
  }
  // The README's configs are the shipped examples, byte for byte.
  for (const step of steps) {
    if (step.kind !== "file") continue;
    const name = step.value.path.replace("/etc/ztna/", "");
    assert.equal(step.value.text, await Deno.readTextFile(`${REPO_ROOT}/examples/${name}`), name);
  }
});

async function allSteps(): Promise<DocStep[]> {
  const steps: DocStep[] = [];
  for (const { file, heading } of SECTIONS) {
    steps.push(...sectionSteps(await Deno.readTextFile(`${REPO_ROOT}/${file}`), heading));
  }
  return steps;
}

Deno.test({
  name: "the README's deployment and ADMIN.md's revocation run as written",
  ignore: !canRun,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const tmp = await Deno.makeTempDir({ prefix: "ztna-docs-" });
  const bin = `${tmp}/bin`;
  const cwd = `${tmp}/work`;
  await Deno.mkdir(bin);
  await Deno.mkdir(cwd);
  await Deno.symlink(`${REPO_ROOT}/tools/ztna`, `${bin}/ztna`);
  const env = {
    PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    HOME: Deno.env.get("HOME") ?? "/root",
    NO_COLOR: "1",
  };
  const roles = new Map<string, WatchedProcess>();
  const ids = new Map<string, string>();
  const transcript: string[] = [];
  try {
    await using ns = await Namespace.create(tmp);
    await using _backend = await startBackend(ns);
    for (const step of await allSteps()) {
      if (step.kind === "file") {
        // Written through the namespace's view of /etc: the file the docs show, as it is.
        await writeInNamespace(ns, step.value.path, step.value.text, env, cwd);
        transcript.push(`(wrote ${step.value.path})`);
        continue;
      }
      const doc = step.value;
      const command = fill(doc.command, ids);
      if (/(^|\s)ztna --role=/.test(command)) {
        await roles.get(command)?.stop(10_000);
        // exec after the variable assignments, so the role is the process signals reach.
        const execd = command.replace(/^((?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*)/, "$1exec ");
        const role = new WatchedProcess("nsenter", ns.enter("bash", "-c", execd), {
          name: command,
          cwd,
          env,
          waitTimeoutMs: 30_000,
        });
        roles.set(command, role);
        for (const line of readiness(command)) await role.waitFor(line);
        transcript.push(`$ ${command} &`);
        continue;
      }
      const want = expectsFailure(doc) ? "failure" : "success";
      const deadline = Date.now() + OUTCOME_MS;
      let result = await runShell(ns, command, env, cwd);
      while ((result.code === 0) !== (want === "success") && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 300));
        result = await runShell(ns, command, env, cwd);
      }
      transcript.push(
        `$ ${command}  [${
          (OUTCOME_MS - deadline + Date.now()) | 0
        } ms]\n${result.stdout}${result.stderr}(exit ${result.code})`,
      );
      assert.equal(
        result.code === 0,
        want === "success",
        `"${command}" should ${want === "success" ? "succeed" : "fail"}:\n${
          transcript.join("\n")
        }\n--- roles ---\n${[...roles.values()].map((r) => `[${r.name}]\n${r.output}`).join("\n")}`,
      );
      if (/\btokens? issue\b/.test(command) && /--subject alice\b/.test(command)) {
        ids.set("alice", result.stdout.trim());
      }
      if (command.startsWith("curl") && want === "success") {
        assert.match(result.stdout, new RegExp(BACKEND.body));
      }
    }
    if (Deno.env.get("ZTNA_TEST_VERBOSE")) console.log(transcript.join("\n"));
    // What the docs promise besides exit codes.
    const relay = [...roles.entries()].find(([c]) => c.includes("--role=intermediate"))?.[1];
    assert.ok(relay);
    assert.match(relay.output, /Watching revocation file "?\/var\/lib\/ztna\/revoked-tokens\.txt/);
    assert.match(relay.output, /Loaded 1 revoked token ids from "?\/var\/lib\/ztna/);
    assert.match(
      relay.output,
      /Reloaded 1 admin token hashes from "?\/etc\/ztna\/admin-token-hashes/,
    );
    const modes = await runShell(
      ns,
      "stat -c '%a %n' /var/lib/ztna /var/lib/ztna/ztna.kv* /etc/ztna/*.key /etc/ztna/*.token",
      env,
      cwd,
    );
    for (const line of modes.stdout.trim().split("\n")) {
      const [mode, path] = line.split(" ");
      assert.equal(mode, path === "/var/lib/ztna" ? "700" : "600", line);
    }
    // Every role stops cleanly on SIGTERM (exit 0), as docs/OPERATIONS.md says.
    for (const [command, role] of [...roles.entries()].reverse()) {
      assert.equal((await role.stop(10_000)).code, 0, `${command}\n${role.output}`);
    }
  } finally {
    await Promise.all([...roles.values()].map((r) => r.stop(10_000)));
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});

/** Writes a file inside the namespace (its /etc is not the host's). */
async function writeInNamespace(
  ns: Namespace,
  path: string,
  text: string,
  env: Record<string, string>,
  cwd: string,
): Promise<void> {
  const child = new Deno.Command("nsenter", {
    args: ns.enter("bash", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1"', "write", path),
    cwd,
    env,
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

/** The private web server the connector reaches, at the documented address inside the namespace. */
async function startBackend(ns: Namespace): Promise<WatchedProcess> {
  const code = `Deno.serve({ hostname: "${BACKEND.hostname}", port: ${BACKEND.port}, ` +
    `onListen() { console.log("backend ready"); } }, () => new Response("${BACKEND.body}\\n"));`;
  const backend = new WatchedProcess("nsenter", ns.enter(Deno.execPath(), "eval", code), {
    name: "backend",
  });
  await backend.waitFor(/backend ready/);
  return backend;
}
