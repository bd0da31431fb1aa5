/**
 * The host side of the NAT lab: running commands, owner files (`/run/ztna-netlab/<prefix>` holds
 * the pid that made a lab), removing a lab's namespaces with everything running in them, sweeping
 * leftovers of crashed runs, and the probe that tells whether labs can be built here at all.
 * @module
 */

/** The namespaces of a lab, by role. */
export const LAB_NAMESPACES = ["pub", "natA", "cliA", "natB", "srvB"] as const;
/** One role of {@link LAB_NAMESPACES}. */
export type LabNamespace = typeof LAB_NAMESPACES[number];

/** Outcome of a command run to completion. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Whether this machine can build labs, and why not. */
export type LabAvailability = { ok: true } | { ok: false; why: string };

/** Bound on each setup command: they take milliseconds; a hang means a broken host. */
export const SETUP_TIMEOUT_MS = 10_000;
/** Folder of owner files, for sweeping crashed runs. */
const OWNER_DIR = "/run/ztna-netlab";
/** Prefixes the lab invents; only these are swept when their owner is gone. */
const DEFAULT_PREFIX = /^zt[0-9a-f]{4}$/;
/** Every role a lab (or the availability probe) creates, for removal. */
const ALL_ROLES = [...LAB_NAMESPACES, "probe"] as const;
const NS_NAME = new RegExp(`^([a-z0-9]{1,10})-(${ALL_ROLES.join("|")})$`);

/** Runs a command to completion; a missing program is code 127, a timeout kills it (143). */
export async function run(cmd: string[], timeoutMs: number): Promise<ExecResult> {
  const dec = new TextDecoder();
  try {
    const out = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { code: 127, stdout: "", stderr: `${cmd[0]}: command not found` };
    }
    throw e;
  }
}

/** `digits` random lowercase hex digits. */
export function randomHex(digits: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(digits / 2)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, digits);
}

async function listNamespaces(): Promise<string[]> {
  const out = await run(["ip", "netns", "list"], SETUP_TIMEOUT_MS);
  return out.stdout.split("\n").map((l) => l.trim().split(/\s+/)[0]).filter((n) => n);
}

/** Records this process as the owner of `prefix`, before any of its namespaces exist. */
export async function writeOwner(prefix: string): Promise<void> {
  await Deno.mkdir(OWNER_DIR, { recursive: true });
  await Deno.writeTextFile(`${OWNER_DIR}/${prefix}`, `${Deno.pid}\n`);
}

/** True when the owner file of `prefix` names a live process. */
async function ownerAlive(prefix: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number((await Deno.readTextFile(`${OWNER_DIR}/${prefix}`)).trim());
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  // Deno reads /proc only with --allow-all, so the shell checks for us.
  return (await run(["sh", "-c", 'kill -0 "$1" 2>/dev/null', "sh", String(pid)], 5_000)).code === 0;
}

/** Removes the group with our own prefix, and default-named groups whose owner is gone. */
export async function sweepLeftovers(prefix: string): Promise<void> {
  const prefixes = new Set<string>();
  for (const name of await listNamespaces()) {
    const m = NS_NAME.exec(name);
    if (m) prefixes.add(m[1]);
  }
  for (const p of prefixes) {
    if (p === prefix || (DEFAULT_PREFIX.test(p) && !(await ownerAlive(p)))) await removeGroup(p);
  }
}

/** Kills every process in the group's namespaces, deletes them, then the owner file. */
export async function removeGroup(prefix: string): Promise<void> {
  const existing = new Set(await listNamespaces());
  for (const role of ALL_ROLES) {
    const ns = `${prefix}-${role}`;
    if (!existing.has(ns)) continue;
    const pids = await run(["ip", "netns", "pids", ns], SETUP_TIMEOUT_MS);
    for (const pid of pids.stdout.split("\n").map(Number).filter((n) => n > 0)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    await run(["ip", "netns", "del", ns], SETUP_TIMEOUT_MS);
  }
  await Deno.remove(`${OWNER_DIR}/${prefix}`).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
}

/** Tries Linux, root, `ip`, `iptables`, and a trial namespace with a bridge and NAT rules. */
export async function probeAvailability(): Promise<LabAvailability> {
  if (Deno.build.os !== "linux") {
    return { ok: false, why: `network namespaces need Linux, this is ${Deno.build.os}` };
  }
  let uid: number | null;
  try {
    uid = Deno.uid();
  } catch (e) {
    return { ok: false, why: `cannot read the user id (${e instanceof Error ? e.message : e})` };
  }
  if (uid !== 0) return { ok: false, why: `creating network namespaces needs root, uid is ${uid}` };
  for (const [cmd, pkg] of [["ip", "iproute2"], ["iptables", "iptables"]]) {
    const out = await run([cmd, cmd === "ip" ? "-V" : "--version"], SETUP_TIMEOUT_MS);
    if (out.code !== 0) {
      return { ok: false, why: `"${cmd}" is not usable (install ${pkg}): ${out.stderr.trim()}` };
    }
  }
  const prefix = `zt${randomHex(4)}`;
  const ns = `${prefix}-probe`;
  try {
    await writeOwner(prefix);
    const steps = [
      ["ip", "netns", "add", ns],
      ["ip", "-n", ns, "link", "add", "br0", "type", "bridge"],
      ["ip", "link", "add", "v0", "netns", ns, "type", "veth", "peer", "name", "v1", "netns", ns],
      [
        "ip",
        "netns",
        "exec",
        ns,
        "iptables",
        "-w",
        "-t",
        "nat",
        "-A",
        "POSTROUTING",
        "-o",
        "v0",
        "-j",
        "MASQUERADE",
        "--random-fully",
      ],
      [
        "ip",
        "netns",
        "exec",
        ns,
        "iptables",
        "-w",
        "-A",
        "INPUT",
        "-m",
        "conntrack",
        "--ctstate",
        "NEW",
        "-j",
        "DROP",
      ],
    ];
    for (const step of steps) {
      const out = await run(step, SETUP_TIMEOUT_MS);
      if (out.code !== 0) {
        return {
          ok: false,
          why: `cannot build a NAT namespace: "${step.join(" ")}" failed: ${out.stderr.trim()}`,
        };
      }
    }
    return { ok: true };
  } catch (e) {
    return {
      ok: false,
      why: `cannot build a NAT namespace: ${e instanceof Error ? e.message : e}`,
    };
  } finally {
    await removeGroup(prefix).catch(() => {});
  }
}
