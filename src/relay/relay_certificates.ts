/**
 * The relay's certificate: read from `cert` and `key`, or with `[intermediate.acme]` obtained and
 * renewed by src/acme (loaded only then). Each renewal is put in service the way SIGHUP does it:
 * a new listener on the same endpoint, then the admin endpoint (`onRenewed`).
 * @module
 */
import { getLogger } from "@logtape/logtape";
// Types only: the ACME module (and the npm ACME client behind it, ~25 MiB of heap) is loaded only
// when [intermediate.acme] is enabled.
import type { AcmeTestHooks, CertificateManager } from "../acme/mod.ts";
import type { IntermediateConfig } from "../config/schema.ts";
import { PostgresStore, type Store } from "../store/mod.ts";
import type { Relay, TlsMaterial } from "./relay.ts";

const log = getLogger(["ztna", "relay"]);

type AcmeModule = typeof import("../acme/mod.ts");

async function readTls(config: IntermediateConfig): Promise<TlsMaterial> {
  if (config.cert === undefined || config.key === undefined) {
    // The schema requires both unless ACME is enabled, and then this is never called.
    throw new Error("Cannot read the relay certificate: intermediate.cert and key are not set");
  }
  return { cert: await Deno.readTextFile(config.cert), key: await Deno.readTextFile(config.key) };
}

/** What the certificate works with. */
export interface RelayCertificatesDeps {
  relay: Pick<Relay, "metrics" | "reloadTls">;
  store: Store;
  /** After a renewal is in the relay's listeners: the admin endpoint takes it too. */
  onRenewed(tls: TlsMaterial): Promise<void> | void;
  /** Pause points for crash tests; only test builds (tests/_builds/) set them. */
  acmeTestHooks?: AcmeTestHooks;
}

/** The certificate in service: {@link load}, then {@link start}; stopped by {@link stop}. */
export class RelayCertificates {
  readonly #config: IntermediateConfig;
  readonly #deps: RelayCertificatesDeps;
  readonly #module: AcmeModule | undefined;
  readonly #acme: CertificateManager | undefined;
  #tls: TlsMaterial | undefined;

  /** Loads the ACME module when `[intermediate.acme]` is enabled; starts nothing. */
  static async load(
    config: IntermediateConfig,
    deps: RelayCertificatesDeps,
  ): Promise<RelayCertificates> {
    const acme = config.acme.enabled ? await import("../acme/mod.ts") : undefined;
    return new RelayCertificates(config, deps, acme);
  }

  private constructor(
    config: IntermediateConfig,
    deps: RelayCertificatesDeps,
    acme: AcmeModule | undefined,
  ) {
    this.#config = config;
    this.#deps = deps;
    this.#module = acme;
    const { relay, store } = deps;
    this.#acme = acme
      ? new acme.CertificateManager(config.acme, {
        stateDir: config.state_dir,
        metrics: {
          renewals: relay.metrics.acmeRenewals.preset(["issue", "renew"]),
          failures: relay.metrics.acmeFailures.preset(acme.ACME_ERROR_CODES),
        },
        onRenewed: async (pair) => {
          const tls = this.#tls = { cert: pair.cert, key: pair.key };
          relay.reloadTls(tls);
          log.info("Serving the renewed ACME certificate {serial}", { serial: pair.info.serial });
          await deps.onRenewed(tls);
        },
        ...(deps.acmeTestHooks ? { testHooks: deps.acmeTestHooks } : {}),
        // A fleet on PostgreSQL shares one account and certificate; one relay orders at a time.
        ...(store instanceof PostgresStore ? { shared: store.acme } : {}),
      })
      : undefined;
  }

  /**
   * The first certificate: the files, or ACME's (which may wait for one). Undefined when `signal`
   * aborts while ACME waits: a clean stop, not a failure.
   */
  async start(signal: AbortSignal): Promise<TlsMaterial | undefined> {
    try {
      this.#tls = this.#acme ? await this.#acme.start(signal) : await readTls(this.#config);
    } catch (error) {
      const acme = this.#module;
      if (acme && error instanceof acme.AcmeError && error.code === "aborted") return undefined;
      throw error;
    }
    return this.#tls;
  }

  /** The certificate in service. @throws before {@link start} */
  get current(): TlsMaterial {
    if (this.#tls === undefined) throw new Error("The relay certificate has not been loaded");
    return this.#tls;
  }

  /**
   * SIGHUP: puts the certificate in service again in the relay's listeners — with ACME the
   * manager's current one, else the files read again.
   * @throws when the files cannot be read (the current certificate stays)
   */
  async reload(): Promise<void> {
    // With ACME the current certificate is the manager's; SIGHUP puts it in service again.
    const pair = this.#acme?.current;
    this.#tls = pair ? { cert: pair.cert, key: pair.key } : await readTls(this.#config);
    this.#deps.relay.reloadTls(this.#tls);
  }

  /** Stops renewing; safe before start. */
  async stop(): Promise<void> {
    await this.#acme?.stop();
  }
}
