/**
 * Everything a bench run measures, started on loopback on first use and kept up until the run ends,
 * so repetitions can interleave the paths: the bench backend (TCP and UDP), ztna relay + connector +
 * client, the two-hop QUIC pipe, the QUIC datagram hop, the ssh and stunnel baselines. The relay
 * capacity case gets fresh servers of its own (`freshRelay`, `freshHop`) so its memory readings
 * start clean. Disposal stops every process (SIGTERM, then SIGKILL) and removes the temp folder,
 * also when start-up fails halfway.
 * @module
 */
import { Fixture, freeTcpPort, freeUdpPort } from "../tests/_helpers/cluster.ts";
import { READY as HOP_READY } from "./baselines/quic_datagram_hop.ts";
import { READY as PIPE_READY } from "./baselines/quic_pipe.ts";
import { SshBaseline, type SshRoute } from "./baselines/ssh.ts";
import { startStunnel } from "./baselines/stunnel.ts";
import type { Tools } from "./debian_tools.ts";
import { denoScript, type HelperProcess } from "./helper_process.ts";
import { firstResponseByte } from "./load.ts";
import { rssKiB } from "./proc_stats.ts";
import type { Skipped } from "./results_schema.ts";
import {
  clientConfig,
  connectorConfig,
  RELAY_ENV,
  spawnZtna,
  startRelay,
  UNLIMITED,
} from "./ztna_nodes.ts";

/**
 * Service ids of the bench backend in the ztna configs: `core` is the same TCP backend served by
 * the connector's data plane outside its Worker sandbox (baselines/connector_unsandboxed.ts).
 */
export const SERVICES = { tcp: "bench", udp: "bench-udp", core: "bench-core" } as const;

/** Seconds a helper gets to print its readiness line (Deno start-up on a busy 2-core machine). */
const READY_TIMEOUT_MS = 30_000;

/** Relay idle timeout of the long-lived paths; their dialers keep-alive every second. */
const RELAY_IDLE_TIMEOUT_MS = 5_000;

/** Options of {@link Lab.create}. */
export interface LabOptions {
  log: (line: string) => void;
  tools: Tools;
  /** Run the relays under `--cpu-prof`, writing profiles here. */
  cpuProfDir?: string;
  signal: AbortSignal;
}

/** The bench backend. */
export interface Backend {
  tcpPort: number;
  udpPort: number;
}

/** The long-lived ztna path. */
export interface ZtnaPath {
  relayPort: number;
  relay: HelperProcess;
  /** PIDs for CPU and memory readings. */
  pids: { client: number; relay: number; connector: number; connectorUnsandboxed: number };
  /** Local TCP forward to the backend's TCP port. */
  tcpPort: number;
  /** Local TCP forward to the same port through the connector without its Worker sandbox. */
  coreTcpPort: number;
  /** Local UDP forward to the backend's UDP sink. */
  udpPort: number;
  /** A client token for the bench services (fresh clients of the TTFB case use it). */
  clientTokenPath: string;
  /** RSS of both connectors once started and registered, before any traffic. */
  idleRssKiB: { connector: number; connectorUnsandboxed: number };
}

/** A server the caller owns, with its port. */
export interface OwnedServer extends AsyncDisposable {
  process: HelperProcess;
  port: number;
}

/** The running world of one bench run. */
export class Lab implements AsyncDisposable {
  readonly skipped: Skipped[] = [];
  readonly #stack: AsyncDisposableStack;
  readonly #started = new Map<string, Promise<unknown>>();

  private constructor(
    readonly fx: Fixture,
    readonly options: LabOptions,
    stack: AsyncDisposableStack,
  ) {
    this.#stack = stack;
  }

  /** A lab with its temp folder and dev PKI; nothing runs yet. */
  static async create(options: LabOptions): Promise<Lab> {
    if (options.cpuProfDir) await Deno.mkdir(options.cpuProfDir, { recursive: true });
    const stack = new AsyncDisposableStack();
    const fx = stack.use(await Fixture.create("bench"));
    return new Lab(fx, options, stack);
  }

  #once<T>(key: string, start: () => Promise<T>): Promise<T> {
    let p = this.#started.get(key) as Promise<T> | undefined;
    if (!p) {
      p = start();
      this.#started.set(key, p);
    }
    return p;
  }

  /** `--cpu-prof` flags for a process named `name`, when the run profiles. */
  #profile(name: string): string[] {
    const dir = this.options.cpuProfDir;
    return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  }

  #skip(what: string, why: string): undefined {
    if (!this.skipped.some((s) => s.what === what)) this.skipped.push({ what, why });
    this.options.log(`skipping ${what}: ${why}`);
    return undefined;
  }

  /** Waits until a TCP path answers an echo end to end. */
  async #ready(port: number, what: string): Promise<void> {
    try {
      await firstResponseByte(port, performance.now(), {
        signal: this.options.signal,
        timeoutMs: READY_TIMEOUT_MS,
        retryMs: 20,
      });
    } catch (e) {
      throw new Error(`${what} never answered: ${e instanceof Error ? e.message : e}`, {
        cause: e,
      });
    }
  }

  /** The bench backend: TCP sink/source/echo and the UDP probe counter. */
  backend(): Promise<Backend> {
    return this.#once("backend", async () => {
      this.options.log("starting the bench backend");
      const p = this.#stack.use(
        denoScript("bench/backend.ts", [], { name: "backend", flags: ["--allow-net=127.0.0.1"] }),
      );
      const m = await p.waitFor(
        /Bench backend listening on 127\.0\.0\.1:(\d+), udp 127\.0\.0\.1:(\d+)/,
        READY_TIMEOUT_MS,
      );
      return { tcpPort: Number(m[1]), udpPort: Number(m[2]) };
    });
  }

  /** ztna relay, connector (TCP and UDP services) and client (a TCP and a UDP forward). */
  ztna(): Promise<ZtnaPath> {
    return this.#once("ztna", async () => {
      const { fx } = this;
      const backend = await this.backend();
      this.options.log("starting ztna relay, connector and client");
      const relayPort = freeUdpPort();
      const relay = this.#stack.use(
        await startRelay(fx, {
          name: "main",
          port: relayPort,
          limits: UNLIMITED,
          idleTimeoutMs: RELAY_IDLE_TIMEOUT_MS,
          cpuProfDir: this.options.cpuProfDir,
        }),
      );
      const services = [SERVICES.tcp, SERVICES.udp];
      const connector = this.#stack.use(
        await spawnZtna(
          "connector",
          await connectorConfig(fx, relayPort, {
            [SERVICES.tcp]: { backend: `127.0.0.1:${backend.tcpPort}`, protocol: "tcp" },
            [SERVICES.udp]: { backend: `127.0.0.1:${backend.udpPort}`, protocol: "udp" },
          }, (await fx.token("connector", { services })).path),
          { name: "connector", cpuProfDir: this.options.cpuProfDir },
        ),
      );
      await connector.waitFor(new RegExp(`Registered service ${SERVICES.udp}`), READY_TIMEOUT_MS);
      const coreToken = await fx.token("connector", { services: [SERVICES.core] });
      const core = this.#stack.use(
        denoScript(
          "bench/baselines/connector_unsandboxed.ts",
          [
            await connectorConfig(fx, relayPort, {
              [SERVICES.core]: { backend: `127.0.0.1:${backend.tcpPort}`, protocol: "tcp" },
            }, coreToken.path),
          ],
          {
            name: "connector without sandbox",
            flags: ["-P=ztna", ...this.#profile("connector-unsandboxed")],
          },
        ),
      );
      await core.waitFor(new RegExp(`Registered service ${SERVICES.core}`), READY_TIMEOUT_MS);
      const clientToken = await fx.token("client", { services: [...services, SERVICES.core] });
      const tcpPort = freeTcpPort();
      const coreTcpPort = freeTcpPort();
      const udpPort = freeUdpPort();
      const client = this.#stack.use(
        await spawnZtna(
          "client",
          await clientConfig(fx, relayPort, {
            [`127.0.0.1:${tcpPort}`]: SERVICES.tcp,
            [`127.0.0.1:${udpPort}`]: `${SERVICES.udp}@udp`,
            [`127.0.0.1:${coreTcpPort}`]: SERVICES.core,
          }, clientToken.path),
          { name: "client", cpuProfDir: this.options.cpuProfDir },
        ),
      );
      await client.waitFor(/Connected to relay/, READY_TIMEOUT_MS);
      const [idleRss, idleRssCore] = await Promise.all([rssKiB(connector.pid), rssKiB(core.pid)]);
      if (idleRss === undefined || idleRssCore === undefined) throw new Error("A connector exited");
      await this.#ready(tcpPort, "ztna path");
      await this.#ready(coreTcpPort, "ztna path without the connector sandbox");
      return {
        idleRssKiB: { connector: idleRss, connectorUnsandboxed: idleRssCore },
        relayPort,
        relay,
        pids: {
          client: client.pid,
          relay: relay.pid,
          connector: connector.pid,
          connectorUnsandboxed: core.pid,
        },
        tcpPort,
        coreTcpPort,
        udpPort,
        clientTokenPath: clientToken.path,
      };
    });
  }

  /** The two-hop QUIC pipe; resolves with its entry's TCP port. */
  pipe(): Promise<number> {
    return this.#once("pipe", async () => {
      const { fx } = this;
      const backend = await this.backend();
      this.options.log("starting the two-hop QUIC pipe");
      const pipe = (mode: string, args: string[]) =>
        this.#stack.use(
          denoScript("bench/baselines/quic_pipe.ts", [`--mode=${mode}`, ...args], {
            name: `pipe ${mode}`,
            flags: [
              "--allow-net=127.0.0.1",
              `--allow-read=${fx.dir}`,
              ...this.#profile(`pipe-${mode}`),
            ],
          }),
        );
      const mid = pipe("mid", [`--cert=${fx.pki.certPath}`, `--key=${fx.pki.keyPath}`]);
      const midPort = Number((await mid.waitFor(PIPE_READY.mid, READY_TIMEOUT_MS))[1]);
      const exit = pipe("exit", [
        `--mid=${midPort}`,
        `--ca=${fx.pki.caCertPath}`,
        `--backend=${backend.tcpPort}`,
      ]);
      await exit.waitFor(PIPE_READY.exit, READY_TIMEOUT_MS);
      await mid.waitFor(PIPE_READY.exitAttached, READY_TIMEOUT_MS);
      const entry = pipe("entry", [`--mid=${midPort}`, `--ca=${fx.pki.caCertPath}`]);
      const port = Number((await entry.waitFor(PIPE_READY.entry, READY_TIMEOUT_MS))[1]);
      await this.#ready(port, "QUIC pipe");
      return port;
    });
  }

  /** The bastion and target sshd, or undefined (and a skip note) when OpenSSH is missing. */
  ssh(): Promise<SshBaseline | undefined> {
    return this.#once("ssh", async () => {
      const tools = this.options.tools.ssh;
      if ("missing" in tools) return this.#skip("ssh -L and ssh -J baselines", tools.missing);
      this.options.log("starting bastion and target sshd");
      return this.#stack.use(await SshBaseline.start(tools, `${this.fx.dir}/ssh`));
    });
  }

  /** A long-lived `ssh -L` (`direct`) or `ssh -J` (`jump`) forward to the backend's TCP port. */
  sshForward(route: SshRoute): Promise<number | undefined> {
    return this.#once(`ssh ${route}`, async () => {
      const ssh = await this.ssh();
      if (!ssh) return undefined;
      const backend = await this.backend();
      const port = freeTcpPort();
      this.#stack.use(ssh.forward(route, port, backend.tcpPort));
      await this.#ready(port, route === "direct" ? "ssh -L" : "ssh -J");
      return port;
    });
  }

  /** Client and server stunnel; resolves with the client's port, or undefined when missing. */
  stunnel(): Promise<number | undefined> {
    return this.#once("stunnel", async () => {
      const tools = this.options.tools.stunnel;
      if ("missing" in tools) return this.#skip("stunnel baseline", tools.missing);
      const backend = await this.backend();
      this.options.log("starting client and server stunnel");
      const running = this.#stack.use(
        await startStunnel(tools.stunnel, {
          dir: `${this.fx.dir}/stunnel`,
          pki: this.fx.pki,
          backendPort: backend.tcpPort,
        }),
      );
      await this.#ready(running.port, "stunnel");
      return running.port;
    });
  }

  /** The QUIC datagram hop's server for the UDP case; resolves with its port. */
  hop(): Promise<{ port: number; pid: number }> {
    return this.#once("hop", async () => {
      const server = this.#stack.use(await this.freshHop("hop", 100));
      return { port: server.port, pid: server.process.pid };
    });
  }

  /** A new QUIC datagram hop server that the caller stops. */
  async freshHop(name: string, maxStreams: number): Promise<OwnedServer> {
    const { fx } = this;
    const process = denoScript(
      "bench/baselines/quic_datagram_hop.ts",
      [
        "--mode=server",
        `--cert=${fx.pki.certPath}`,
        `--key=${fx.pki.keyPath}`,
        `--max-streams=${maxStreams}`,
      ],
      {
        name: `datagram hop ${name}`,
        flags: ["--allow-net=127.0.0.1", `--allow-read=${fx.dir}`],
        // The relay's allocator tuning, so the two servers are compared like for like.
        env: { ...RELAY_ENV },
      },
    );
    try {
      const port = Number((await process.waitFor(HOP_READY, READY_TIMEOUT_MS))[1]);
      return { process, port, [Symbol.asyncDispose]: async () => void await process.stop() };
    } catch (e) {
      await process.stop();
      throw e;
    }
  }

  /** A new relay with the bench's limits that the caller stops. */
  async freshRelay(
    name: string,
    options: {
      idleTimeoutMs: number;
      limits: Readonly<Record<string, number>>;
      /** More `[intermediate.admin]` keys. */
      admin?: string;
      /** With the shipped allocator tuning. @default {true} */
      tuned?: boolean;
    },
  ): Promise<OwnedServer> {
    const port = freeUdpPort();
    const process = await startRelay(this.fx, {
      name,
      port,
      limits: options.limits,
      idleTimeoutMs: options.idleTimeoutMs,
      cpuProfDir: this.options.cpuProfDir,
      admin: options.admin,
      tuned: options.tuned,
    });
    return { process, port, [Symbol.asyncDispose]: async () => void await process.stop() };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#stack.disposeAsync();
  }
}
