/**
 * A real HTTP CONNECT proxy for tests: Debian's `tinyproxy`, in the foreground with its own config
 * in the test's folder, logging each CONNECT to its output (LogLevel Connect), optionally asking
 * for Basic credentials. `.ci/run` installs it.
 * @module
 */
import { freeTcpPort } from "./cluster.ts";
import { WatchedProcess } from "./watched_process.ts";

/** Options of {@link startTinyproxy}. */
export interface TinyproxyOptions {
  /** Address it listens on. @default {"127.0.0.1"} */
  listen?: string;
  /** @default {a free port} */
  port?: number;
  /** Client addresses it serves. @default {[listen]} */
  allow?: string[];
  /** Require these Basic credentials (tinyproxy `BasicAuth`). */
  basicAuth?: { user: string; password: string };
  /** Command prefix, e.g. a network namespace's `ip netns exec` wrapper. @default {[]} */
  wrapper?: string[];
}

/** A running tinyproxy. */
export class Tinyproxy extends WatchedProcess {
  constructor(
    readonly url: string,
    wrapper: readonly string[],
    configPath: string,
  ) {
    const [program, ...prefix] = [...wrapper, "tinyproxy"];
    super(program, [...prefix, "-d", "-c", configPath], { name: "tinyproxy" });
  }

  /** The CONNECT request lines it logged, e.g. `CONNECT 127.0.0.1:4433 HTTP/1.1`. */
  get connects(): string[] {
    return [...this.output.matchAll(/Request \(file descriptor \d+\): (CONNECT [^\n]+)/g)].map((
      m,
    ) => m[1]);
  }
}

/** Writes a config into `dir` and starts tinyproxy; resolves once it takes connections. */
export async function startTinyproxy(
  dir: string,
  options: TinyproxyOptions = {},
): Promise<Tinyproxy> {
  const listen = options.listen ?? "127.0.0.1";
  const port = options.port ?? freeTcpPort();
  const lines = [
    `Port ${port}`,
    `Listen ${listen}`,
    "Timeout 30",
    "LogLevel Connect",
    "MaxClients 50",
    ...(options.allow ?? [listen]).map((a) => `Allow ${a}`),
    ...(options.basicAuth
      ? [`BasicAuth ${options.basicAuth.user} ${options.basicAuth.password}`]
      : []),
  ];
  const configPath = `${dir}/tinyproxy-${port}.conf`;
  await Deno.writeTextFile(configPath, lines.join("\n") + "\n");
  const proxy = new Tinyproxy(`http://${listen}:${port}`, options.wrapper ?? [], configPath);
  await proxy.waitFor(/done sending stored logs/, 5_000);
  if ((options.wrapper ?? []).length === 0) await untilListening(listen, port);
  return proxy;
}

/** Polls a TCP connect for up to 5 s (tinyproxy binds right after its start-up lines). */
async function untilListening(hostname: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname, port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`tinyproxy did not listen on ${hostname}:${port} within 5 s`);
}
