/**
 * Runs Pebble (Let's Encrypt's test ACME CA, Debian package `pebble`, installed by .ci/run) on
 * loopback for e2e tests: its HTTPS directory and management endpoint serve a certificate of the
 * test fixture's dev CA (Debian's package ships no test certificates), validation sleeps and nonce
 * rejections are off, authorizations are never reused (every order really validates), the
 * certificate lifetime is the test's (`certificateValidityPeriod`, seconds), HTTP-01 validation
 * goes to our challenge listener's port, and names resolve through the test's DNS responder.
 * Pebble makes a new root CA at every start: {@link Pebble.root} fetches it from `/roots/0`.
 * @module
 */
import { generateAdminToken, hashAdminToken } from "../../src/admin/mod.ts";
import { readCertificateInfo } from "../../src/pki/mod.ts";
import { type Fixture, freeTcpPort } from "./cluster.ts";
import { type DnsResponder, startDnsResponder } from "./dns_responder.ts";
import type { ZtnaProcess } from "./ztna_process.ts";

/** Options of {@link Pebble.start}. */
export interface PebbleOptions {
  /** Folder for the config file. */
  dir: string;
  /** PEM certificate and key Pebble serves HTTPS with (names 127.0.0.1 and localhost). */
  tls: { certPath: string; keyPath: string };
  /** The CA that signed `tls`, trusted by the test's own HTTPS calls to Pebble. */
  tlsCaPath: string;
  /** Port of our HTTP-01 listener: Pebble validates there. */
  httpPort: number;
  /** UDP port of the test's DNS responder on 127.0.0.1. */
  dnsPort: number;
  /** Lifetime of issued certificates in seconds. */
  validitySeconds: number;
}

/** The Debian package's binary. */
export const PEBBLE_BINARY = "/usr/bin/pebble";

/** A running Pebble. */
export class Pebble implements AsyncDisposable {
  #output = "";
  readonly done: Promise<Deno.CommandStatus>;

  private constructor(
    readonly child: Deno.ChildProcess,
    readonly options: PebbleOptions,
    readonly ports: { acme: number; management: number },
  ) {
    const decoder = new TextDecoder();
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) this.#output += decoder.decode(chunk, { stream: true });
    };
    this.done = Promise.all([pump(child.stdout), pump(child.stderr)]).then(() => child.status);
  }

  /** Starts Pebble (on `ports` when given) and waits until its directory answers. */
  static async start(
    options: PebbleOptions,
    ports = { acme: freeTcpPort(), management: freeTcpPort() },
  ): Promise<Pebble> {
    const configPath = `${options.dir}/pebble-${ports.acme}.json`;
    await Deno.writeTextFile(
      configPath,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${ports.acme}`,
          managementListenAddress: `127.0.0.1:${ports.management}`,
          certificate: options.tls.certPath,
          privateKey: options.tls.keyPath,
          httpPort: options.httpPort,
          tlsPort: freeTcpPort(),
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
          certificateValidityPeriod: options.validitySeconds,
        },
      }),
    );
    const child = new Deno.Command(PEBBLE_BINARY, {
      args: ["-config", configPath, "-dnsserver", `127.0.0.1:${options.dnsPort}`],
      env: { PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pebble = new Pebble(child, options, ports);
    // Pebble logs its addresses just before it binds them: wait until both really answer.
    const deadline = Date.now() + 30_000;
    while (!await pebble.#answers()) {
      const exited = await Promise.race([
        pebble.done.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 100)),
      ]);
      if (exited || Date.now() > deadline) {
        pebble.kill("SIGKILL");
        throw new Error(`Pebble did not start\n${pebble.output}`);
      }
    }
    return pebble;
  }

  /** True once the directory and the management endpoint both answer 200. */
  async #answers(): Promise<boolean> {
    if (!this.output.includes("ACME directory available at")) return false;
    using client = Deno.createHttpClient({
      caCerts: [await Deno.readTextFile(this.options.tlsCaPath)],
    });
    for (const url of [this.directoryUrl, `https://127.0.0.1:${this.ports.management}/roots/0`]) {
      try {
        const res = await fetch(url, { client, signal: AbortSignal.timeout(5_000) });
        await res.body?.cancel();
        if (!res.ok) return false;
      } catch {
        return false;
      }
    }
    return true;
  }

  /** Everything Pebble logged so far. */
  get output(): string {
    return this.#output;
  }

  /** The directory URL for `[intermediate.acme] directory_url`. */
  get directoryUrl(): string {
    return `https://127.0.0.1:${this.ports.acme}/dir`;
  }

  /** Serials Pebble issued, lowercase hex without leading zeros (Pebble pads them), in order. */
  get issuedSerials(): string[] {
    return [...this.#output.matchAll(/Issued certificate serial 0*([0-9a-f]+)/g)].map((m) => m[1]);
  }

  /** This run's root CA (PEM), which issued certificates chain to. */
  async root(): Promise<string> {
    using client = Deno.createHttpClient({
      caCerts: [await Deno.readTextFile(this.options.tlsCaPath)],
    });
    const res = await fetch(`https://127.0.0.1:${this.ports.management}/roots/0`, {
      client,
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`Pebble /roots/0 answered ${res.status}`);
    return await res.text();
  }

  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.child.kill(signal);
    } catch (e) {
      if (!(e instanceof TypeError)) throw e; // already gone
    }
  }

  /** Stops Pebble and waits until it is gone (its ports are free again). */
  async stop(): Promise<void> {
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), 5_000);
    try {
      await this.done;
    } finally {
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * The certificate a TLS server presents, read with `openssl s_client` (Deno's TLS and QUIC clients
 * do not expose the peer certificate). Verification is not the point here: the caller checks
 * trust separately with a verifying client.
 */
export async function presentedCertificate(
  port: number,
  serverName: string,
): Promise<{ serial: string; issuer: string; dnsNames: string[] }> {
  const out = await new Deno.Command("openssl", {
    args: ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", serverName],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(10_000),
  }).output();
  const pem = new TextDecoder().decode(out.stdout).match(
    /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/,
  )?.[0];
  if (pem === undefined) throw new Error(`openssl s_client saw no certificate on port ${port}`);
  const info = readCertificateInfo(pem);
  return { serial: info.serial, issuer: info.issuer, dnsNames: info.dnsNames };
}

/** Options of {@link AcmeWorld.create}. */
export interface AcmeWorldOptions {
  /** Lifetime of certificates Pebble issues, in seconds. */
  validitySeconds: number;
}

/** Options of {@link AcmeWorld.startRelay}. */
export interface AcmeRelayOptions {
  /** Extra `[intermediate.acme]` lines (renew_before_fraction, retry delays…). */
  acme?: string;
  /**
   * Serve the admin endpoint on a free loopback port: over HTTPS with the relay certificate, or
   * plain HTTP (to watch /readyz while the certificate is expired). @default {"off"}
   */
  admin?: "https" | "http" | "off";
  /** Entry file instead of main.ts (a test build). */
  entry?: string;
  /** What to wait for. @default {/Relay listening on/} */
  wait?: RegExp | null;
  /** Command prefix that execs deno (e.g. to add a permission flag). @default {[]} */
  wrapper?: string[];
  /**
   * `ca_bundle` the relay trusts for the CA's HTTPS; null for none (public roots only).
   * @default {the fixture's CA, which signed Pebble's HTTPS certificate}
   */
  caBundle?: string | null;
  /** Extra `[intermediate]` lines (a store, a fleet). @default {none} */
  intermediate?: string;
  /** The relay's state_dir. @default {the world's one} */
  stateDir?: string;
  /** Port of this relay's HTTP-01 listener. @default {the one Pebble validates at} */
  httpPort?: number;
}

/**
 * Everything an ACME e2e test needs around a relay: the DNS responder (TXT records from files in
 * `txtDir`), Pebble validating against our challenge listener's port, Pebble's current root in a file (`rootPath`), and relay configs
 * with `[intermediate.acme]` pointing at it. The relay's ACME name is `localhost`, which the
 * fixture's clients verify as their server_name.
 */
export class AcmeWorld implements AsyncDisposable {
  #restarts = 0;

  private constructor(
    readonly fx: Fixture,
    readonly dns: DnsResponder,
    readonly httpPort: number,
    public pebble: Pebble,
    public rootPath: string,
    readonly stateDir: string,
    /** Where a dns-01 hook may write TXT records: the file `<txtDir>/<name>` holds the value. */
    readonly txtDir: string,
  ) {}

  static async create(fx: Fixture, options: AcmeWorldOptions): Promise<AcmeWorld> {
    const txtDir = `${fx.dir}/dns-txt`;
    await Deno.mkdir(txtDir);
    const dns = startDnsResponder({ txtDir });
    const httpPort = freeTcpPort();
    const pebble = await Pebble.start({
      dir: fx.dir,
      tls: fx.pki,
      tlsCaPath: fx.pki.caCertPath,
      httpPort,
      dnsPort: dns.port,
      validitySeconds: options.validitySeconds,
    });
    const rootPath = `${fx.dir}/pebble-root-0.pem`;
    await Deno.writeTextFile(rootPath, await pebble.root());
    return new AcmeWorld(fx, dns, httpPort, pebble, rootPath, `${fx.dir}/relay-state`, txtDir);
  }

  /** Stops Pebble and starts a new one on the same ports: same directory URL, new root CA. */
  async restartPebble(): Promise<void> {
    await this.pebble.stop();
    this.pebble = await Pebble.start(this.pebble.options, this.pebble.ports);
    this.rootPath = `${this.fx.dir}/pebble-root-${++this.#restarts}.pem`;
    await Deno.writeTextFile(this.rootPath, await this.pebble.root());
  }

  /** Starts a relay whose certificate comes from Pebble; waits until it listens. */
  async startRelay(
    port: number,
    options: AcmeRelayOptions = {},
  ): Promise<{ relay: ZtnaProcess; adminUrl?: string; adminToken?: string }> {
    let admin = "enabled = false";
    let adminToken: string | undefined;
    const mode = options.admin ?? "off";
    const caBundle = options.caBundle === undefined ? this.fx.pki.caCertPath : options.caBundle;
    if (mode !== "off") {
      adminToken = generateAdminToken();
      admin = `listen = "127.0.0.1:${freeTcpPort()}"\ntls = ${mode === "https"}\n` +
        `token_hashes = ["${await hashAdminToken(adminToken)}"]\nmetrics_public = true`;
    }
    const path = await this.fx.config(`
[intermediate]
listen = "127.0.0.1:${port}"
token_public_keys = ["${this.fx.signing.publicPath}"]
idle_timeout_ms = 3000
drain_timeout_ms = 500
state_dir = "${options.stateDir ?? this.stateDir}"
${options.intermediate ?? ""}
[intermediate.acme]
enabled = true
directory_url = "${this.pebble.directoryUrl}"
email = "ops@example.com"
domains = ["localhost"]
http_listen = "127.0.0.1:${options.httpPort ?? this.httpPort}"
${caBundle === null ? "" : `ca_bundle = "${caBundle}"`}
${options.acme ?? ""}
[intermediate.admin]
${admin}
`);
    const relay = this.fx.spawn(["--role=intermediate", "--config", path], "relay", {
      ...(options.entry ? { entry: options.entry } : {}),
      ...(options.wrapper ? { wrapper: options.wrapper } : {}),
    });
    if (options.wait !== null) await relay.waitFor(options.wait ?? /Relay listening on/, 30_000);
    if (mode === "off") return { relay };
    const port2 = (await relay.waitFor(/Admin endpoint listening on "?https?:\/\/[^:]+:(\d+)/))[1];
    // Over HTTPS use the name the certificate carries: localhost, not 127.0.0.1.
    const adminUrl = mode === "https" ? `https://localhost:${port2}` : `http://127.0.0.1:${port2}`;
    return { relay, adminUrl, ...(adminToken ? { adminToken } : {}) };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.pebble.stop();
    this.dns.close();
  }
}
