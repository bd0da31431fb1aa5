/**
 * Test fixture for e2e runs: a temp folder with a dev PKI, a token signing key, tokens on demand,
 * TOML configs, and helpers that start relay/connector/client as real processes of main.ts.
 * @module
 */
import { generateAdminToken, hashAdminToken } from "../../src/admin/mod.ts";
import { generateSigningKeyPair, issueToken } from "../../src/auth/mod.ts";
import { generateDevPki } from "../../src/pki/dev_pki.ts";
import { freeTcpPort, freeUdpPort } from "../../src/demo/free_port.ts";
import { tempDir, ZtnaProcess } from "./ztna_process.ts";

export { freeTcpPort, freeUdpPort };

/** Options for a token the fixture issues. */
export interface TokenSpec {
  subject?: string;
  services?: string[];
  ttlSeconds?: number;
  /** Issue as if at this time (to make expired tokens). */
  nowMs?: number;
  /** Sign with another key (not trusted by the relay). */
  foreignKey?: boolean;
}

/** Options of {@link Fixture.create}. */
export interface FixtureOptions {
  /**
   * Address relays listen on and connectors and clients dial (and verify as TLS server name); the
   * relay certificate names it too. Set it to run in a netns lab (tests/netns/_lab.ts).
   * @default {"127.0.0.1"}
   */
  relayHost?: string;
}

/** A temp world for one test. */
export class Fixture implements AsyncDisposable {
  readonly processes: ZtnaProcess[] = [];
  #n = 0;
  private constructor(
    readonly dir: string,
    readonly pki: { caCertPath: string; certPath: string; keyPath: string },
    readonly signing: { privatePem: string; publicPath: string },
    readonly foreignPrivatePem: string,
    readonly disposeDir: AsyncDisposable,
    readonly relayHost = "127.0.0.1",
  ) {}

  static async create(name: string, options: FixtureOptions = {}): Promise<Fixture> {
    const { relayHost = "127.0.0.1" } = options;
    const tmp = await tempDir(name);
    const names = relayHost === "127.0.0.1" ? [] : [relayHost];
    const pki = await generateDevPki({ outDir: `${tmp.path}/pki`, names });
    const keys = await generateSigningKeyPair();
    const publicPath = `${tmp.path}/token-signing.pub`;
    await Deno.writeTextFile(publicPath, keys.publicPem);
    const foreign = await generateSigningKeyPair();
    return new Fixture(
      tmp.path,
      pki,
      { privatePem: keys.privatePem, publicPath },
      foreign.privatePem,
      tmp,
      relayHost,
    );
  }

  /** Issues a token and writes it to a file (mode 0600); returns the file path and the token. */
  async token(
    role: "client" | "connector",
    spec: TokenSpec = {},
  ): Promise<{ path: string; token: string; id: string }> {
    const issued = await issueToken(
      spec.foreignKey ? this.foreignPrivatePem : this.signing.privatePem,
      {
        subject: spec.subject ?? `${role}-${++this.#n}`,
        role,
        services: spec.services ?? ["web"],
        ttlSeconds: spec.ttlSeconds ?? 3_600,
      },
      spec.nowMs !== undefined ? { nowMs: spec.nowMs } : undefined,
    );
    const path = `${this.dir}/token-${++this.#n}.jwt`;
    await Deno.writeTextFile(path, issued.token, { mode: 0o600 });
    return { path, token: issued.token, id: issued.tokenId };
  }

  /** Writes a config file and returns its path. */
  async config(text: string): Promise<string> {
    const path = `${this.dir}/config-${++this.#n}.toml`;
    await Deno.writeTextFile(path, text);
    return path;
  }

  /**
   * Starts a relay on `port` and waits until it listens. `admin` holds the `[intermediate.admin]`
   * keys; by default the admin endpoint is off (see {@link adminRelay}), so relays never collide
   * on its port.
   */
  async relay(
    port: number,
    extra = "",
    limits = "",
    logLevel = "",
    admin = "enabled = false",
    options: { wrapper?: string[] } = {},
  ): Promise<ZtnaProcess> {
    const path = await this.config(`
${logLevel ? `[log]\nlevel = "${logLevel}"\n` : ""}
[intermediate]
listen = "${hostPort(this.relayHost, port)}"
cert = "${this.pki.certPath}"
key = "${this.pki.keyPath}"
token_public_keys = ["${this.signing.publicPath}"]
revocation_file = "${this.dir}/revoked.txt"
revocation_poll_ms = 200
idle_timeout_ms = 3000
drain_timeout_ms = 1000
${extra}
[intermediate.limits]
${limits}
[intermediate.admin]
${admin}
`);
    const p = this.spawn(["--role=intermediate", "--config", path], "relay", options);
    await p.waitFor(/Relay listening on/);
    return p;
  }

  /**
   * Makes an admin token (its hash goes into the relay's config) and starts a relay whose admin
   * endpoint listens on a free loopback port; `admin` adds `[intermediate.admin]` keys.
   */
  async adminRelay(
    port: number,
    options: { admin?: string; listen?: string; extra?: string; limits?: string } = {},
  ): Promise<{ relay: ZtnaProcess; url: string; adminToken: string; adminTokenPath: string }> {
    const adminToken = generateAdminToken();
    const adminTokenPath = `${this.dir}/admin-${++this.#n}.token`;
    await Deno.writeTextFile(adminTokenPath, `${adminToken}\n`, { mode: 0o600 });
    const hash = await hashAdminToken(adminToken);
    const listen = options.listen ?? "127.0.0.1:0";
    const admin = `listen = "${listen}"\ntoken_hashes = ["${hash}"]\n${options.admin ?? ""}`;
    const relay = await this.relay(port, options.extra ?? "", options.limits ?? "", "", admin);
    const url = (await relay.waitFor(/Admin endpoint listening on "?(https?:\/\/[^"\s]+)/))[1];
    return { relay, url, adminToken, adminTokenPath };
  }

  /** Writes the Ed25519 private key the fixture signs tokens with, for token_signing_key. */
  async signingKeyFile(): Promise<string> {
    const path = `${this.dir}/token-signing.key`;
    await Deno.writeTextFile(path, this.signing.privatePem, { mode: 0o600 });
    return path;
  }

  /** Starts a connector serving `services` (id → backend) through the relays on `ports`. */
  async connector(
    ports: number[],
    services: Record<string, string | { backend: string; protocol: string | string[] }>,
    tokenPath: string,
    options: {
      ca?: string;
      wait?: RegExp | null;
      extra?: string;
      logLevel?: string;
      /** Command prefix, e.g. `NatLab.wrapper("srvB")`. @default {[]} */
      wrapper?: string[];
      /** The shipped keep-alive, idle timeout and backoff instead of test-speed ones. */
      shippedTimers?: boolean;
    } = {},
  ): Promise<ZtnaProcess> {
    const svc = Object.entries(services).map(([id, spec]) => {
      const { backend, protocol } = typeof spec === "string"
        ? { backend: spec, protocol: "tcp" }
        : spec;
      const proto = Array.isArray(protocol) ? JSON.stringify(protocol) : `"${protocol}"`;
      return `[[connector.service]]\nid = "${id}"\nbackend = "${backend}"\nprotocol = ${proto}\n`;
    }).join("\n");
    const path = await this.config(this.#dialerToml("connector", ports, tokenPath, options, svc));
    const p = this.spawn(["--role=connector", "--config", path], "connector", {
      wrapper: options.wrapper,
    });
    if (options.wait !== null) await p.waitFor(options.wait ?? /Registered service/);
    return p;
  }

  /**
   * Writes the plain configs of a connector serving `web` from `backendPort` and a client
   * forwarding a free local port to it (no direct paths), for tests that start the roles their
   * own way (under exact flags, in a test build); returns both paths and the client's port.
   */
  async dialerConfigs(relayPort: number, backendPort: number) {
    const dialer = async (role: "connector" | "client") => `
[${role}]
relays = [{ address = "127.0.0.1:${relayPort}", server_name = "localhost" }]
ca = "${this.pki.caCertPath}"
token_file = "${(await this.token(role)).path}"
reconnect_min_ms = 200
`;
    const connectorConfig = await this.config(`${await dialer("connector")}
[[connector.service]]
id = "web"
backend = "127.0.0.1:${backendPort}"
`);
    const local = freeTcpPort();
    const clientConfig = await this.config(`${await dialer("client")}
direct = false
[[client.forward]]
listen = "127.0.0.1:${local}"
service = "web"
`);
    return { connectorConfig, clientConfig, local };
  }

  /** Starts a client forwarding local ports to services (`"dns@udp"` for UDP); waits until connected. */
  async client(
    ports: number[],
    forwards: Record<string, string>,
    tokenPath: string,
    options: {
      ca?: string;
      wait?: RegExp | null;
      extra?: string;
      logLevel?: string;
      /** Command prefix, e.g. `NatLab.wrapper("srvB")`. @default {[]} */
      wrapper?: string[];
      /** The shipped keep-alive, idle timeout and backoff instead of test-speed ones. */
      shippedTimers?: boolean;
    } = {},
  ): Promise<ZtnaProcess> {
    const fw = Object.entries(forwards).map(([listen, spec]) => {
      const [service, protocol = "tcp"] = spec.split("@");
      return `[[client.forward]]\nlisten = "${listen}"\nservice = "${service}"\nprotocol = "${protocol}"\n`;
    }).join("\n");
    const path = await this.config(this.#dialerToml("client", ports, tokenPath, options, fw));
    const p = this.spawn(["--role=client", "--config", path], "client", {
      wrapper: options.wrapper,
    });
    if (options.wait !== null) await p.waitFor(options.wait ?? /Connected to relay/);
    return p;
  }

  /**
   * The config of a connector or client: test-speed timers (or, with `shippedTimers`, the shipped
   * keep-alive, idle timeout and backoff, for tests of what users get), then `extra`, then `tail`.
   */
  #dialerToml(
    role: "connector" | "client",
    ports: number[],
    tokenPath: string,
    options: { ca?: string; extra?: string; logLevel?: string; shippedTimers?: boolean },
    tail: string,
  ): string {
    const timers = options.shippedTimers ? "" : `keepalive_ms = 500
idle_timeout_ms = 3000
reconnect_min_ms = 200
reconnect_max_ms = 2000`;
    return `
${options.logLevel ? `[log]\nlevel = "${options.logLevel}"\n` : ""}
[${role}]
${relaysToml(ports, this.relayHost)}
ca = "${options.ca ?? this.pki.caCertPath}"
token_file = "${tokenPath}"
${timers}
${options.extra ?? ""}
${tail}`;
  }

  /**
   * A connector serving `service` from `backendPort` and a client forwarding a fresh local port to
   * it, both dialing `relayPorts` (trusting `ca` when given); all running and connected.
   */
  async attach(
    relayPorts: number[],
    backendPort: number,
    options: {
      service?: string;
      ca?: string;
      connector?: Parameters<Fixture["connector"]>[3];
      client?: Parameters<Fixture["client"]>[3];
    } = {},
  ): Promise<{ connector: ZtnaProcess; client: ZtnaProcess; local: number }> {
    const service = options.service ?? "web";
    const ca = options.ca ? { ca: options.ca } : {};
    const connector = await this.connector(
      relayPorts,
      { [service]: `127.0.0.1:${backendPort}` },
      (await this.token("connector", { services: [service] })).path,
      { ...ca, ...options.connector },
    );
    const local = freeTcpPort();
    const client = await this.client(
      relayPorts,
      { [`127.0.0.1:${local}`]: service },
      (await this.token("client", { services: [service] })).path,
      { ...ca, ...options.client },
    );
    return { connector, client, local };
  }

  /**
   * One relay and one connector serving `service` (default "web") from `backendPort`, for tests
   * that bring their own client; both running and registered.
   */
  async served(
    backendPort: number,
    service = "web",
  ): Promise<{ relayPort: number; relay: ZtnaProcess; connector: ZtnaProcess }> {
    const relayPort = freeUdpPort();
    const relay = await this.relay(relayPort);
    const connector = await this.connector(
      [relayPort],
      { [service]: `127.0.0.1:${backendPort}` },
      (await this.token("connector", { services: [service] })).path,
    );
    return { relayPort, relay, connector };
  }

  /**
   * The common topology: one relay, one connector serving `service` from `backendPort`, one client
   * forwarding a fresh local port to it; all running and connected.
   */
  async tunnel(
    backendPort: number,
    options: { service?: string; relayLimits?: string } = {},
  ): Promise<
    {
      relayPort: number;
      relay: ZtnaProcess;
      connector: ZtnaProcess;
      client: ZtnaProcess;
      local: number;
    }
  > {
    const relayPort = freeUdpPort();
    const relay = await this.relay(relayPort, "", options.relayLimits ?? "");
    return { relayPort, relay, ...(await this.attach([relayPort], backendPort, options)) };
  }

  spawn(
    args: string[],
    name: string,
    options: { entry?: string; env?: Record<string, string>; wrapper?: string[] } = {},
  ): ZtnaProcess {
    const p = new ZtnaProcess(args, { name, ...options });
    this.processes.push(p);
    return p;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop(5_000)));
    await this.disposeDir[Symbol.asyncDispose]();
  }
}

function relaysToml(ports: number[], host: string): string {
  // On loopback keep the DNS name; elsewhere the IP itself is the name the certificate carries.
  const serverName = host === "127.0.0.1" ? "localhost" : host;
  const entries = ports.map((p) =>
    `{ address = "${hostPort(host, p)}", server_name = "${serverName}" }`
  );
  return `relays = [${entries.join(", ")}]`;
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A tiny HTTP backend in the test process; answers with its name so tests see which one served. */
export function httpBackend(name: string): Deno.HttpServer<Deno.NetAddr> & { port: number } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = new Uint8Array(await req.arrayBuffer());
    return new Response(`${name} ${req.method} ${new URL(req.url).pathname} ${body.byteLength}`);
  });
  return Object.assign(server, { port: server.addr.port });
}

/**
 * The name an {@link httpBackend} answers with, through a forward on local `port`: one request on a
 * fresh TCP connection (so a new flow each time), failing after 15 s.
 */
export async function backendBehind(port: number, path = "/"): Promise<string> {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      client,
      signal: AbortSignal.timeout(15_000),
    });
    return (await res.text()).split(" ")[0];
  } finally {
    client.close();
  }
}
