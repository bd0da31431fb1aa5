/**
 * A network-namespace NAT lab for e2e tests: an "internet" bridge where the relay lives, and two
 * private networks behind Linux NAT routers. Addresses come from 198.18.0.0/15 (RFC 2544, never
 * routed on the real internet).
 *
 * ```
 *  <p>-cliA 198.19.1.2 eth0 ── lan0 198.19.1.1 <p>-natA 198.18.0.2 pub0 ──┐
 *                                                                         br0 198.18.0.1 <p>-pub
 *  <p>-srvB 198.19.2.2 eth0 ── lan0 198.19.2.1 <p>-natB 198.18.0.3 pub0 ──┘
 * ```
 *
 * Each router masquerades on `pub0` (`MASQUERADE`: Linux keeps the source port when it can, so one
 * local socket gets one public port whatever the destination — endpoint-independent mapping; with
 * `--random-fully` every new 5-tuple gets a random port — symmetric for our purpose). Like a home
 * router it silently drops unsolicited inbound packets (new conntrack state on `pub0`, both INPUT
 * and FORWARD), so only replies and hole-punched flows come in; filtering is therefore
 * address-and-port-dependent (conntrack matches the full 5-tuple).
 *
 * Veth pairs are created directly inside their namespaces, so interface names (`br0`, `pub0`,
 * `lan0`, `eth0`, `natA`, `natB`) never meet in the host namespace. Namespaces are `<prefix>-<role>`.
 * An owner file `/run/ztna-netlab/<prefix>` holds the creating pid: every new lab removes groups of
 * default-named namespaces (`zt` + 4 hex) whose owner is gone, and any group with its own prefix.
 * @module
 */
import {
  type ExecResult,
  LAB_NAMESPACES,
  type LabAvailability,
  type LabNamespace,
  probeAvailability,
  randomHex,
  removeGroup,
  run,
  SETUP_TIMEOUT_MS,
  sweepLeftovers,
  writeOwner,
} from "./_lab_host.ts";
import { LabProcess } from "./_lab_process.ts";

export { type ExecResult, LAB_NAMESPACES, type LabAvailability, type LabNamespace };

/** Addresses of the lab. `relay` is the bridge address in `pub`, where the relay listens. */
export const LAB_ADDRESSES = {
  relay: "198.18.0.1",
  natA: "198.18.0.2",
  natB: "198.18.0.3",
  natALan: "198.19.1.1",
  cliA: "198.19.1.2",
  natBLan: "198.19.2.1",
  srvB: "198.19.2.2",
} as const;

/** Mapping behaviour of a NAT router. */
export type NatType = "endpoint-independent" | "symmetric";

/** Options of {@link NatLab.create}. */
export interface NatLabOptions {
  /** Namespace name prefix, 1 to 10 of `[a-z0-9]`. @default {"zt" + 4 random hex digits} */
  prefix?: string;
  /** Mapping behaviour of natA (in front of cliA). @default {"endpoint-independent"} */
  natA?: NatType;
  /** Mapping behaviour of natB (in front of srvB). @default {"endpoint-independent"} */
  natB?: NatType;
}

const PREFIX = /^[a-z0-9]{1,10}$/;
/** Chain in natA that {@link NatLab.cutDirect} fills; jumped to first from FORWARD. */
const CUT_CHAIN = "ZTCUT";
/** The peer program tests run inside namespaces (see `_peer.ts`). */
export const PEER_PATH = new URL("./_peer.ts", import.meta.url).pathname;

/** The command that runs `_peer.ts` with `args`, for {@link NatLab.exec} and {@link NatLab.spawn}. */
export function peerCommand(...args: string[]): string[] {
  return [Deno.execPath(), "run", "-A", "--unstable-net", PEER_PATH, ...args];
}

/** A NAT lab; build with {@link NatLab.create}, remove with `await using` or {@link NatLab.dispose}. */
export class NatLab implements AsyncDisposable {
  static #available?: Promise<LabAvailability>;
  readonly #processes = new Set<LabProcess>();
  #disposed?: Promise<void>;

  private constructor(
    /** Namespace name prefix. */
    readonly prefix: string,
    /** Mapping behaviour of each router. */
    readonly natTypes: { readonly natA: NatType; readonly natB: NatType },
  ) {}

  /**
   * Checks once per process that namespaces with NAT can be made here: Linux, root, `ip` and
   * `iptables` present, and a trial namespace with a bridge and a `MASQUERADE --random-fully` rule.
   */
  static available(): Promise<LabAvailability> {
    return NatLab.#available ??= probeAvailability();
  }

  /**
   * Builds the lab (removing leftovers first); on any failure removes what it made and rethrows.
   * @throws {RangeError} for a bad `prefix`
   * @throws {Error} when a setup command fails
   */
  static async create(options: NatLabOptions = {}): Promise<NatLab> {
    const {
      prefix = `zt${randomHex(4)}`,
      natA = "endpoint-independent",
      natB = "endpoint-independent",
    } = options;
    if (!PREFIX.test(prefix)) {
      throw new RangeError(
        `Cannot create a NAT lab as 'prefix' must be 1 to 10 of [a-z0-9]: current value is "${prefix}"`,
      );
    }
    const lab = new NatLab(prefix, { natA, natB });
    try {
      await sweepLeftovers(prefix);
      await writeOwner(prefix);
      await lab.#build();
      return lab;
    } catch (e) {
      await lab.dispose();
      throw e;
    }
  }

  /** Full name of a namespace, e.g. `zt1a2b-cliA`. */
  ns(role: LabNamespace): string {
    return `${this.prefix}-${role}`;
  }

  /** Command prefix that runs a program in `role`: `["ip", "netns", "exec", <ns>]`. */
  wrapper(role: LabNamespace): string[] {
    return ["ip", "netns", "exec", this.ns(role)];
  }

  /** Runs `cmd` in `role` to completion (killed after `timeoutMs`, default 30 s). */
  exec(
    role: LabNamespace,
    cmd: string[],
    options: { timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    return run([...this.wrapper(role), ...cmd], options.timeoutMs ?? 30_000);
  }

  /** Starts `cmd` in `role`; the lab stops it on dispose if the test did not. */
  spawn(role: LabNamespace, cmd: string[], options: { name?: string } = {}): LabProcess {
    const p = new LabProcess(cmd, {
      name: options.name ?? `${role}: ${cmd.join(" ")}`,
      wrapper: this.wrapper(role),
    });
    this.#processes.add(p);
    const forget = () => this.#processes.delete(p);
    p.done.then(forget, forget);
    return p;
  }

  /**
   * Drops UDP between natA's and natB's public addresses (in natA's FORWARD chain, both ways), so a
   * direct cliA↔srvB path dies while both still reach the relay. Idempotent.
   */
  async cutDirect(): Promise<void> {
    const ipt = (...args: string[]) => this.#must("natA", ["iptables", "-w", ...args]);
    await ipt("-F", CUT_CHAIN);
    await ipt("-A", CUT_CHAIN, "-p", "udp", "-d", LAB_ADDRESSES.natB, "-j", "DROP");
    await ipt("-A", CUT_CHAIN, "-p", "udp", "-s", LAB_ADDRESSES.natB, "-j", "DROP");
  }

  /**
   * Sets a router's conntrack UDP timeouts, i.e. how long an idle NAT mapping lives: `unrepliedS`
   * for flows that never got an answer (kernel default 30), `streamS` for flows with traffic both
   * ways (kernel default 120). Per namespace; the host is not touched.
   * @throws {RangeError} for a value that is not a positive integer
   */
  async setUdpTimeouts(
    nat: "natA" | "natB",
    timeouts: { unrepliedS?: number; streamS?: number },
  ): Promise<void> {
    const files = [
      ["unrepliedS", "nf_conntrack_udp_timeout"],
      ["streamS", "nf_conntrack_udp_timeout_stream"],
    ] as const;
    for (const [key, file] of files) {
      const value = timeouts[key];
      if (value === undefined) continue;
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(
          `Cannot set UDP timeouts as '${key}' must be a positive integer: current value is ${value}`,
        );
      }
      await this.#must(nat, ["sh", "-c", `echo ${value} > /proc/sys/net/netfilter/${file}`]);
    }
  }

  /**
   * While `on`, UDP to and from `address` is dropped in `nat`'s raw table, before conntrack sees it:
   * with short UDP timeouts ({@link NatLab.setUdpTimeouts}) the router then forgets the mapping, and
   * the next packet gets a new one — a NAT rebinding.
   */
  async hideFromConntrack(nat: "natA" | "natB", address: string, on: boolean): Promise<void> {
    for (const dir of ["-d", "-s"]) {
      const rule = ["PREROUTING", "-p", "udp", dir, address, "-j", "DROP"];
      await this.#must(nat, ["iptables", "-w", "-t", "raw", on ? "-A" : "-D", ...rule]);
    }
  }

  /** Undoes {@link NatLab.cutDirect}. Idempotent. */
  async restoreDirect(): Promise<void> {
    await this.#must("natA", ["iptables", "-w", "-F", CUT_CHAIN]);
  }

  /**
   * Stops processes the lab started, kills anything else left in its namespaces, deletes them and
   * the owner file. Idempotent; never throws for parts already gone.
   */
  dispose(): Promise<void> {
    return this.#disposed ??= (async () => {
      await Promise.all([...this.#processes].map((p) => p.stop(1_000)));
      await removeGroup(this.prefix);
    })();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  async #must(role: LabNamespace | null, cmd: string[]): Promise<string> {
    const full = role === null ? cmd : [...this.wrapper(role), ...cmd];
    const out = await run(full, SETUP_TIMEOUT_MS);
    if (out.code !== 0) {
      throw new Error(
        `Cannot set up NAT lab "${this.prefix}": "${
          full.join(" ")
        }" exited with ${out.code}: ${out.stderr.trim()}`,
      );
    }
    return out.stdout;
  }

  async #build(): Promise<void> {
    const ip = (...args: string[]) => this.#must(null, ["ip", ...args]);
    for (const role of LAB_NAMESPACES) {
      await ip("netns", "add", this.ns(role));
      await ip("-n", this.ns(role), "link", "set", "lo", "up");
    }
    const pub = this.ns("pub");
    await ip("-n", pub, "link", "add", "br0", "type", "bridge");
    await ip("-n", pub, "addr", "add", `${LAB_ADDRESSES.relay}/24`, "dev", "br0");
    await ip("-n", pub, "link", "set", "br0", "up");
    const sides = [
      { nat: "natA", host: "cliA", lan: "198.19.1", type: this.natTypes.natA },
      { nat: "natB", host: "srvB", lan: "198.19.2", type: this.natTypes.natB },
    ] as const;
    for (const { nat, host, lan, type } of sides) {
      const natNs = this.ns(nat);
      const hostNs = this.ns(host);
      await ip(
        "link",
        "add",
        "pub0",
        "netns",
        natNs,
        "type",
        "veth",
        "peer",
        "name",
        nat,
        "netns",
        pub,
      );
      await ip("-n", pub, "link", "set", nat, "master", "br0", "up");
      await ip("-n", natNs, "addr", "add", `${LAB_ADDRESSES[nat]}/24`, "dev", "pub0");
      await ip("-n", natNs, "link", "set", "pub0", "up");
      await ip(
        "link",
        "add",
        "lan0",
        "netns",
        natNs,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        hostNs,
      );
      await ip("-n", natNs, "addr", "add", `${lan}.1/24`, "dev", "lan0");
      await ip("-n", natNs, "link", "set", "lan0", "up");
      await ip("-n", hostNs, "addr", "add", `${lan}.2/24`, "dev", "eth0");
      await ip("-n", hostNs, "link", "set", "eth0", "up");
      await ip("-n", hostNs, "route", "add", "default", "via", `${lan}.1`);
      await this.#must(nat, ["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]);
      const ipt = (...args: string[]) => this.#must(nat, ["iptables", "-w", ...args]);
      const masquerade = ["-t", "nat", "-A", "POSTROUTING", "-o", "pub0", "-j", "MASQUERADE"];
      await ipt(...masquerade, ...(type === "symmetric" ? ["--random-fully"] : []));
      const unsolicited = [
        "-i",
        "pub0",
        "-m",
        "conntrack",
        "--ctstate",
        "NEW,INVALID",
        "-j",
        "DROP",
      ];
      await ipt("-A", "INPUT", ...unsolicited);
      await ipt("-A", "FORWARD", ...unsolicited);
      await ipt("-N", CUT_CHAIN);
      await ipt("-I", "FORWARD", "1", "-j", CUT_CHAIN);
    }
  }
}
