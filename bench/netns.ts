/**
 * A network namespace of one bench case (root only): its own loopback, so the UDP counters of
 * `/proc/net/snmp` read inside it count only the packets of the processes the case starts there —
 * not those of other programs on the machine's loopback.
 * @module
 */

/** UDP datagram counters of one namespace. */
export interface UdpCounters {
  inDatagrams: number;
  outDatagrams: number;
  /** Datagrams dropped because a socket's receive buffer was full. */
  rcvbufErrors: number;
}

async function run(args: string[]): Promise<string> {
  const out = await new Deno.Command("ip", { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Parses the `Udp:` header and value lines of /proc/net/snmp. */
export function parseUdpCounters(snmp: string): UdpCounters {
  const lines = snmp.split("\n").filter((l) => l.startsWith("Udp: "));
  if (lines.length < 2) throw new Error("No Udp lines in /proc/net/snmp");
  const head = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  const field = (name: string) => {
    const i = head.indexOf(name);
    if (i < 0 || !Number.isFinite(values[i])) throw new Error(`No Udp ${name} in /proc/net/snmp`);
    return values[i];
  };
  return {
    inDatagrams: field("InDatagrams"),
    outDatagrams: field("OutDatagrams"),
    rcvbufErrors: field("RcvbufErrors"),
  };
}

/** Sum of the `drops` column of the /proc/net/udp sockets whose local port is `port`. */
export function parseSocketDrops(procNetUdp: string, port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return procNetUdp.split("\n").slice(1).map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 12 && f[1].endsWith(`:${hex}`))
    .reduce((sum, f) => sum + Number(f[f.length - 1]), 0);
}

/** A namespace with loopback up; removed on dispose. */
export class Netns implements AsyncDisposable {
  private constructor(readonly name: string) {}

  /** Creates `name` (after removing a leftover of the same name), or undefined when not root. */
  static async create(name: string): Promise<Netns | undefined> {
    if (Deno.uid() !== 0) return undefined;
    await run(["netns", "del", name]).catch(() => {});
    await run(["netns", "add", name]);
    const ns = new Netns(name);
    try {
      await run(["netns", "exec", name, "ip", "link", "set", "lo", "up"]);
      return ns;
    } catch (e) {
      await ns[Symbol.asyncDispose]();
      throw e;
    }
  }

  /** Command prefix that runs a program inside (it execs, so the pid is the program's). */
  get wrapper(): string[] {
    return ["ip", "netns", "exec", this.name];
  }

  /** The namespace's UDP counters. */
  async udp(): Promise<UdpCounters> {
    return parseUdpCounters(await run(["netns", "exec", this.name, "cat", "/proc/net/snmp"]));
  }

  /** Datagrams dropped so far by the UDP socket bound to `port` inside (last column of /proc/net/udp). */
  async socketDrops(port: number): Promise<number> {
    return parseSocketDrops(await run(["netns", "exec", this.name, "cat", "/proc/net/udp"]), port);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await run(["netns", "del", this.name]).catch(() => {});
  }
}

/** The machine's UDP counters (every program's loopback traffic), when no namespace is possible. */
export async function hostUdp(): Promise<UdpCounters> {
  const out = await new Deno.Command("cat", { args: ["/proc/net/snmp"], stdout: "piped" }).output();
  return parseUdpCounters(new TextDecoder().decode(out.stdout));
}
