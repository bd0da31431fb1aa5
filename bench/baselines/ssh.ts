/**
 * Baselines through OpenSSH: `ssh -L` through a private sshd, and `ssh -J` through a bastion sshd to
 * a target sshd (two encrypted hops: the client's session to the target runs inside its session to
 * the bastion), both forwarding a local port to the bench backend.
 *
 * Everything lives in one private folder: a host key per sshd, one user key whose public half is
 * the only authorized key, an `sshd_config` per sshd listening on 127.0.0.1 only, and an
 * `ssh_config` whose `known_hosts` file starts empty and is filled with
 * `StrictHostKeyChecking accept-new` on first contact — later connections verify the key; nothing
 * turns host-key checking off, and the user's own ssh files are never read (`ssh -F`).
 * OpenSSH's defaults are kept (cipher, MACs, no compression), as a user would get them, except
 * `StrictModes no`: the private folder lives under the system temp folder, which is world-writable,
 * and sshd would refuse every key below it ("bad ownership or modes for directory /tmp").
 * @module
 */
import { freeTcpPort } from "../../tests/_helpers/cluster.ts";
import { HelperProcess } from "../helper_process.ts";

/** sshd must have its privilege separation folder; Debian creates it only when the service runs. */
const PRIVSEP_DIR = "/run/sshd";

/** Seconds an sshd gets to print its readiness line. */
const READY_TIMEOUT_MS = 15_000;

/** Programs the baselines run. */
export interface SshPrograms {
  ssh: string;
  sshd: string;
  sshKeygen: string;
}

/** How a forward reaches the backend. */
export type SshRoute = "direct" | "jump";

/** Running sshd instances and what a client needs to use them. */
export class SshBaseline implements AsyncDisposable {
  readonly #stack = new AsyncDisposableStack();
  #n = 0;
  private constructor(readonly programs: SshPrograms, readonly dir: string) {}

  /** Creates keys and configs in `dir` (a fresh folder) and starts the bastion and target sshd. */
  static async start(programs: SshPrograms, dir: string): Promise<SshBaseline> {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.mkdir(PRIVSEP_DIR, { recursive: true, mode: 0o755 });
    const self = new SshBaseline(programs, dir);
    try {
      const keygen = (file: string) =>
        run(programs.sshKeygen, ["-q", "-t", "ed25519", "-N", "", "-C", "ztna-bench", "-f", file]);
      await Promise.all([keygen(`${dir}/host_bastion`), keygen(`${dir}/host_target`)]);
      await keygen(`${dir}/id_user`);
      await Deno.writeTextFile(
        `${dir}/authorized_keys`,
        await Deno.readTextFile(`${dir}/id_user.pub`),
        { mode: 0o600 },
      );
      await Deno.writeTextFile(`${dir}/known_hosts`, "", { mode: 0o600 });
      const bastionPort = await self.#sshd("bastion");
      const targetPort = await self.#sshd("target");
      await Deno.writeTextFile(
        `${dir}/ssh_config`,
        `Host bastion
  HostName 127.0.0.1
  Port ${bastionPort}
Host target
  HostName 127.0.0.1
  Port ${targetPort}
  ProxyJump bastion
Host *
  User ${Deno.env.get("USER") ?? "root"}
  IdentityFile ${dir}/id_user
  IdentitiesOnly yes
  UserKnownHostsFile ${dir}/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking accept-new
  BatchMode yes
  ExitOnForwardFailure yes
  ControlMaster no
  LogLevel ERROR
`,
      );
      return self;
    } catch (e) {
      await self[Symbol.asyncDispose]();
      throw e;
    }
  }

  async #sshd(name: string): Promise<number> {
    const port = freeTcpPort();
    const config = `${this.dir}/sshd_${name}.conf`;
    await Deno.writeTextFile(
      config,
      `ListenAddress 127.0.0.1:${port}
HostKey ${this.dir}/host_${name}
PidFile none
AuthorizedKeysFile ${this.dir}/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
AllowTcpForwarding yes
MaxStartups 100:30:200
LogLevel INFO
`,
    );
    const p = this.#stack.use(
      new HelperProcess(this.programs.sshd, ["-D", "-e", "-f", config], { name: `sshd ${name}` }),
    );
    await p.waitFor(/Server listening on 127\.0\.0\.1 port (\d+)/, READY_TIMEOUT_MS);
    return port;
  }

  /**
   * Starts `ssh -N -L 127.0.0.1:<local>:127.0.0.1:<backend>` to the bastion (`direct`, one hop) or
   * to the target through the bastion (`jump`, `ssh -J`); the caller owns and stops the process.
   * The forward listens once ssh has authenticated: probe the port to know when.
   */
  forward(route: SshRoute, localPort: number, backendPort: number): HelperProcess {
    return new HelperProcess(
      this.programs.ssh,
      [
        "-F",
        `${this.dir}/ssh_config`,
        "-N",
        "-L",
        `127.0.0.1:${localPort}:127.0.0.1:${backendPort}`,
        route === "direct" ? "bastion" : "target",
      ],
      { name: `ssh ${route === "direct" ? "-L" : "-J"} #${++this.#n}` },
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#stack.disposeAsync();
  }
}

async function run(command: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(command, { args, stdin: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
}
