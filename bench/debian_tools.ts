/**
 * The Debian programs the ssh and stunnel baselines need, found on this machine or installed with
 * apt-get (as root, bounded in time) when the run allows it. Missing programs skip their baselines
 * with a reason; they never fail the run.
 * @module
 */

/** Paths of the programs found, or why a baseline cannot run. */
export interface Tools {
  ssh: { ssh: string; sshd: string; sshKeygen: string } | { missing: string };
  stunnel: { stunnel: string } | { missing: string };
}

/** Debian packages that provide them. */
const PACKAGES = ["openssh-server", "openssh-client", "stunnel4"] as const;

/** apt-get may take this long in all (update plus install) before it is stopped. */
const INSTALL_TIMEOUT_MS = 5 * 60_000;

async function executable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** The first `name` on PATH or in the sbin folders (sshd lives in /usr/sbin). */
export async function findProgram(name: string): Promise<string | undefined> {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":"), "/usr/sbin", "/sbin"];
  for (const dir of dirs.filter(Boolean)) {
    if (await executable(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

/** Looks for the programs without installing anything. */
export async function findTools(): Promise<Tools> {
  const [ssh, sshd, sshKeygen, stunnel] = await Promise.all(
    ["ssh", "sshd", "ssh-keygen", "stunnel4"].map(findProgram),
  );
  const sshMissing = [["ssh", ssh], ["sshd", sshd], ["ssh-keygen", sshKeygen]]
    .filter(([, p]) => !p).map(([n]) => n);
  return {
    ssh: ssh && sshd && sshKeygen
      ? { ssh, sshd, sshKeygen }
      : { missing: `${sshMissing.join(", ")} not installed` },
    stunnel: stunnel ? { stunnel } : { missing: "stunnel4 not installed" },
  };
}

async function apt(args: string[], signal: AbortSignal): Promise<boolean> {
  const out = await new Deno.Command("apt-get", {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { DEBIAN_FRONTEND: "noninteractive" },
    signal,
  }).output();
  return out.success;
}

/**
 * Finds the programs; when some are missing and `install` is true, installs their Debian packages
 * first (root only, `apt-get install`, then `apt-get update` and a second try if that failed).
 */
export async function ensureTools(
  install: boolean,
  log: (line: string) => void,
): Promise<Tools> {
  const found = await findTools();
  if (!("missing" in found.ssh) && !("missing" in found.stunnel)) return found;
  if (!install) return found;
  if (Deno.uid() !== 0 || !(await findProgram("apt-get"))) {
    log("sshd/ssh/stunnel missing and cannot be installed here (needs root and apt-get)");
    return found;
  }
  log(`installing ${PACKAGES.join(" ")} with apt-get (at most 5 minutes)`);
  const signal = AbortSignal.timeout(INSTALL_TIMEOUT_MS);
  const installArgs = ["install", "-y", "-qq", "--no-install-recommends", ...PACKAGES];
  try {
    if (!(await apt(installArgs, signal))) {
      (await apt(["update", "-qq"], signal)) && (await apt(installArgs, signal));
    }
  } catch (e) {
    log(`apt-get failed: ${e instanceof Error ? e.message : e}`);
  }
  return await findTools();
}
