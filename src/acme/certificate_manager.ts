/**
 * Keeps the relay supplied with a valid ACME certificate: at start it serves the stored pair when
 * it is still valid (else obtains one, retrying until it succeeds or the relay stops), then renews
 * when `renew_before_fraction` of the lifetime remains (with jitter). A failed renewal is counted,
 * logged and retried with a doubling, jittered delay while the current certificate stays in
 * service; each new pair is stored atomically before the relay is told to serve it.
 * @module
 */
import "./_npm_env.ts"; // before acme-client: see there
import * as acme from "acme-client";
import { getLogger } from "@logtape/logtape";
import type { AcmeConfig } from "../config/mod.ts";
import { ACME_ERRORS, AcmeError, asAcmeError } from "./acme_error.ts";
import { obtainCertificate, type ObtainOptions } from "./acme_order.ts";
import { AcmeStore } from "./acme_store.ts";
import { type CertificatePair, pairProblem } from "./certificate_pair.ts";
import { type ChallengeSolver, solverFor } from "./challenge_solver.ts";
import type { Http01Server } from "./http01_server.ts";
import {
  type CertificateStorage,
  orderOnce,
  SHARED_POLL_MS,
  SharedCertificateStorage,
  sharedHttp01,
  usableStored,
} from "./shared_acme.ts";
import type { SharedAcmeState } from "../store/mod.ts";
import { checkHookPermission } from "./dns_hook.ts";
import { type FetchAdapter, fetchAdapter } from "./fetch_adapter.ts";
import { renewalTime } from "./renewal_schedule.ts";
import { backoffDelay } from "../transport/mod.ts";

const log = getLogger(["ztna", "acme"]);

/** Longest {@link CertificateManager.stop} waits for an order in flight to notice the stop. */
const STOP_GRACE_MS = 2_000;

/** Longest single timer (setTimeout holds 32-bit milliseconds); longer waits are chained. */
const MAX_TIMER_MS = 86_400_000;

/** Why a certificate was obtained: none was usable (`issue`) or the current one ages (`renew`). */
export type ObtainKind = "issue" | "renew";

/** A counter keyed by one label (the relay's LabelledCounter fits). */
export interface AcmeCounter {
  inc(label: string): void;
}

/** Test-only pause points; main.ts never sets them (tests/_builds/acme_pausing_relay.ts does). */
export interface AcmeTestHooks {
  /** After the new pair is written to its temporary file, before it replaces the current one. */
  beforeCommit?: (temporaryPath: string, kind: ObtainKind) => Promise<void>;
}

/** Dependencies of {@link CertificateManager}; tests replace them. */
export interface CertificateManagerDeps {
  /** The folder under which `acme/` is kept (the relay's state_dir). */
  stateDir: string;
  /** `renewals` by kind, `failures` by AcmeError code. */
  metrics: { renewals: AcmeCounter; failures: AcmeCounter };
  /** Puts a renewed pair in service (relay listener, admin endpoint); called after it is stored. */
  onRenewed(pair: CertificatePair): Promise<void> | void;
  /** @default {Date.now} */
  now?: () => number;
  /** @default {Math.random} */
  random?: () => number;
  testHooks?: AcmeTestHooks;
  /** Polling of pending ACME objects; tests shorten it. */
  poll?: ObtainOptions["poll"];
  /**
   * A fleet's shared ACME state (PostgreSQL store): account and certificate in the store, one
   * relay orders at a time, HTTP-01 answered by every relay. @default {per-relay files}
   */
  shared?: SharedAcmeState;
}

/** Waits until `atMs`; false when `signal` aborted first. */
async function sleepUntil(atMs: number, now: () => number, signal: AbortSignal): Promise<boolean> {
  while (!signal.aborted) {
    const left = atMs - now();
    if (left <= 0) return true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(left, MAX_TIMER_MS));
      signal.addEventListener("abort", done, { once: true });
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
    });
  }
  return false;
}

function describe(pair: CertificatePair) {
  return {
    serial: pair.info.serial,
    issuer: pair.info.issuer,
    notAfter: pair.info.notAfter.toISOString(),
  };
}

/** Obtains, stores and renews the relay's certificate. */
export class CertificateManager {
  readonly #config: AcmeConfig;
  readonly #deps: CertificateManagerDeps;
  readonly #store: CertificateStorage;
  #solver: ChallengeSolver | undefined;
  #http01: Http01Server | undefined;
  #sharedPoll: ReturnType<typeof setInterval> | undefined;
  readonly #stop = new AbortController();
  readonly #now: () => number;
  readonly #random: () => number;
  #current: CertificatePair | undefined;
  #accountKey = "";
  #http: FetchAdapter | undefined;
  #loop: Promise<void> | undefined;

  constructor(config: AcmeConfig, deps: CertificateManagerDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#store = deps.shared
      ? new SharedCertificateStorage(deps.shared, config.directory_url)
      : new AcmeStore(deps.stateDir);
    this.#now = deps.now ?? Date.now;
    this.#random = deps.random ?? Math.random;
  }

  /** The pair in service; undefined before {@link start} returned. */
  get current(): CertificatePair | undefined {
    return this.#current;
  }

  /**
   * Prepares, returns the certificate to serve first and starts the renewal loop. Waits (retrying)
   * until a certificate is obtained when none is stored.
   * @throws {AcmeError} permission_missing (dns-01 hook not allowed), storage_failed, aborted
   *   (`signal` or {@link stop} ended the wait)
   */
  async start(signal: AbortSignal): Promise<CertificatePair> {
    signal.addEventListener("abort", () => this.#stop.abort(), { once: true });
    if (signal.aborted) this.#stop.abort();
    const config = this.#config;
    if (config.challenge === "dns-01" && config.dns_hook !== undefined) {
      await checkHookPermission(config.dns_hook);
    }
    let caCerts: string[] = [];
    if (config.ca_bundle !== undefined) {
      try {
        caCerts = [await Deno.readTextFile(config.ca_bundle)];
      } catch (error) {
        throw asAcmeError(error, "storage_failed", `Cannot read ca_bundle ${config.ca_bundle}`);
      }
    }
    this.#http = fetchAdapter({ caCerts, signal: this.#stop.signal });
    // acme-client has one axios instance per process; this relay is its only user.
    acme.axios.defaults.adapter = this.#http.adapter;
    await this.#store.open();
    const shared = this.#deps.shared;
    if (shared && config.challenge === "http-01") {
      const http01 = sharedHttp01(shared, config.http_listen, this.#now);
      this.#http01 = http01.server;
      this.#solver = http01.solver;
    }
    this.#accountKey = await this.#store.accountKey(async () =>
      (await acme.crypto.createPrivateEcdsaKey("P-256")).toString()
    );
    const stored = await this.#store.readCertificate();
    let renewNow = false;
    if (stored !== undefined) {
      const problem = pairProblem(stored.pair, config.domains, this.#now());
      const otherCa = stored.directoryUrl !== config.directory_url;
      if (problem === undefined || problem === "names_differ") {
        this.#current = stored.pair;
        renewNow = problem === "names_differ" || otherCa;
        log.info(
          "Loaded the stored ACME certificate {serial} from {issuer}, valid until {notAfter}",
          describe(stored.pair),
        );
        if (renewNow) {
          log.info("Replacing it now: it was ordered for other domains or another CA");
        }
      } else {
        log.warn("The stored ACME certificate is {problem}; obtaining a new one", { problem });
      }
    }
    if (this.#current === undefined) {
      log.info("Obtaining a certificate for {domains} from {directory}", {
        domains: config.domains.join(", "),
        directory: config.directory_url,
      });
      this.#current = await this.#obtainWithRetries("issue");
    }
    if (shared) {
      // Another relay's renewal reaches this one through the store.
      this.#sharedPoll = setInterval(() => void this.#adoptStored(), SHARED_POLL_MS);
    }
    this.#loop = this.#run(renewNow).catch((error) => {
      log.error("ACME renewals stopped: {error}", {
        error: error instanceof Error ? error.message : String(error),
      });
    });
    return this.#current;
  }

  /**
   * Stops renewing; an order in flight is abandoned (its requests abort at once, but acme-client
   * may still be sleeping between polls, so this waits at most {@link STOP_GRACE_MS}). Idempotent.
   */
  async stop(): Promise<void> {
    this.#stop.abort();
    clearInterval(this.#sharedPoll);
    await this.#http01?.[Symbol.asyncDispose]();
    this.#http01 = undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), STOP_GRACE_MS)));
    const outcome = await Promise.race([this.#loop ?? Promise.resolve(), late]);
    clearTimeout(timer);
    if (outcome === "late") log.debug("Left an ACME order in flight behind at shutdown");
    this.#http?.[Symbol.dispose]();
    this.#http = undefined;
  }

  async #run(renewNow: boolean): Promise<void> {
    const signal = this.#stop.signal;
    let immediate = renewNow;
    while (!signal.aborted && this.#current !== undefined) {
      const current = this.#current;
      const at = immediate ? this.#now() : renewalTime({
        notBeforeMs: current.info.notBefore.getTime(),
        notAfterMs: current.info.notAfter.getTime(),
      }, { fraction: this.#config.renew_before_fraction, random: this.#random });
      immediate = false;
      log.info("Next renewal of ACME certificate {serial} at {at}", {
        serial: current.info.serial,
        at: new Date(at).toISOString(),
      });
      if (!await sleepUntil(at, this.#now, signal)) return;
      // A fleet: another relay renewed meanwhile and this one serves it now; schedule afresh.
      if (this.#current !== current) continue;
      let pair: CertificatePair;
      try {
        pair = await this.#obtainWithRetries("renew");
      } catch (error) {
        if (error instanceof AcmeError && error.code === "aborted") return;
        throw error;
      }
      this.#current = pair;
      try {
        await this.#deps.onRenewed(pair);
      } catch (error) {
        log.error("Cannot serve the renewed certificate {serial}: {error}", {
          serial: pair.info.serial,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  /**
   * Obtains and stores a certificate, retrying failures with backoff until it works.
   * @throws {AcmeError} aborted when stopped (nothing else: failures that cannot heal by
   *   themselves wait retry_max_ms between attempts)
   */
  async #obtainWithRetries(kind: ObtainKind): Promise<CertificatePair> {
    const signal = this.#stop.signal;
    const { retry_min_ms: minMs, retry_max_ms: maxMs } = this.#config;
    for (let failures = 1;; failures++) {
      if (signal.aborted) {
        throw new AcmeError("aborted", "Stopped before a certificate was obtained");
      }
      try {
        return await this.#obtain(kind);
      } catch (thrown) {
        const error = asAcmeError(thrown, "ca_error", "Certificate issuance failed");
        if (signal.aborted || error.code === "aborted") {
          throw new AcmeError("aborted", "Stopped before a certificate was obtained", {
            cause: error,
          });
        }
        this.#deps.metrics.failures.inc(error.code);
        const delayMs = ACME_ERRORS[error.code].retry
          ? backoffDelay(failures, { minMs, maxMs, random: this.#random })
          : maxMs;
        const current = this.#current;
        if (current === undefined) {
          log.warn(
            "ACME {kind} failed ({code}), attempt {attempt}: {error}; retrying in {delayMs} ms",
            {
              kind,
              code: error.code,
              attempt: failures,
              error: error.message,
              delayMs,
            },
          );
        } else {
          log.warn(
            "ACME {kind} failed ({code}), attempt {attempt}: {error}; still serving {serial} " +
              "(valid until {notAfter}), retrying in {delayMs} ms",
            {
              kind,
              code: error.code,
              attempt: failures,
              error: error.message,
              delayMs,
              serial: current.info.serial,
              notAfter: current.info.notAfter.toISOString(),
            },
          );
          if (current.info.notAfter.getTime() <= this.#now()) {
            log.error(
              "The relay certificate {serial} expired at {notAfter}; peers refuse it and /readyz " +
                "reports not ready until a renewal succeeds",
              { serial: current.info.serial, notAfter: current.info.notAfter.toISOString() },
            );
          }
        }
        if (!await sleepUntil(this.#now() + delayMs, this.#now, signal)) {
          throw new AcmeError("aborted", "Stopped before a certificate was obtained");
        }
      }
    }
  }

  /** The fleet's certificate when another relay stored a newer one: served like a renewal. */
  async #adoptStored(): Promise<void> {
    let pair: CertificatePair | undefined;
    try {
      pair = await usableStored(this.#store, this.#config, this.#current, this.#now());
    } catch {
      return; // the store is unreachable: keep serving the current pair, try at the next poll
    }
    if (pair === undefined || this.#stop.signal.aborted) return;
    this.#current = pair;
    log.info("Serving the fleet's certificate {serial}, valid until {notAfter}", describe(pair));
    try {
      await this.#deps.onRenewed(pair);
    } catch (error) {
      log.error("Cannot serve the fleet's certificate {serial}: {error}", {
        serial: pair.info.serial,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  async #obtain(kind: ObtainKind): Promise<CertificatePair> {
    const shared = this.#deps.shared;
    if (!shared) return await this.#order(kind);
    return await orderOnce({
      state: shared,
      storage: this.#store,
      config: this.#config,
      current: this.#current,
      now: this.#now,
      signal: this.#stop.signal,
      order: () => this.#order(kind),
    });
  }

  async #order(kind: ObtainKind): Promise<CertificatePair> {
    const config = this.#config;
    const pair = await obtainCertificate({
      directoryUrl: config.directory_url,
      accountKey: this.#accountKey,
      ...(config.email === undefined ? {} : { email: config.email }),
      domains: config.domains,
      solver: this.#solver ?? solverFor(config),
      signal: this.#stop.signal,
      now: this.#now,
      ...(this.#deps.poll ? { poll: this.#deps.poll } : {}),
    });
    const hook = this.#deps.testHooks?.beforeCommit;
    await this.#store.writeCertificate(
      { pair, directoryUrl: config.directory_url, domains: [...config.domains] },
      {
        nowMs: this.#now(),
        ...(hook ? { beforeCommit: (path: string) => hook(path, kind) } : {}),
      },
    );
    this.#deps.metrics.renewals.inc(kind);
    log.info(
      "Obtained ACME certificate {serial} ({kind}) from {issuer}, valid until {notAfter}",
      { ...describe(pair), kind },
    );
    return pair;
  }
}
