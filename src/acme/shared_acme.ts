/**
 * ACME for a fleet of relays on one PostgreSQL store: the account key and the certificate live in
 * the store ({@link SharedCertificateStorage}, the same face as the per-relay files of
 * acme_store.ts), an always-on HTTP-01 listener answers every relay's challenges from the store
 * ({@link sharedHttp01}), and {@link orderOnce} makes one relay order while the others wait for
 * its result (the store's order lock). docs/OPERATIONS.md, "A fleet of relays".
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { AcmeConfig } from "../config/mod.ts";
import type { SharedAcmeState } from "../store/mod.ts";
import { AcmeError, asAcmeError } from "./acme_error.ts";
import type { StoredCertificate } from "./acme_store.ts";
import { type CertificatePair, certificatePair, pairProblem } from "./certificate_pair.ts";
import type { ChallengeSession, ChallengeSolver } from "./challenge_solver.ts";
import { Http01Server } from "./http01_server.ts";
import { renewalTime } from "./renewal_schedule.ts";

const log = getLogger(["ztna", "acme"]);

/**
 * How often a relay that waits for another's order, or serves the fleet's certificate, reads the
 * store: a renewal reaches every relay within this long; one small query per relay.
 */
export const SHARED_POLL_MS = 1_000;

/** Where the certificate manager keeps the account key and the certificate. */
export interface CertificateStorage {
  open(): Promise<void>;
  accountKey(create: () => Promise<string>): Promise<string>;
  readCertificate(): Promise<StoredCertificate | undefined>;
  writeCertificate(
    stored: StoredCertificate,
    options: { nowMs: number; beforeCommit?: (temporaryPath: string) => Promise<void> },
  ): Promise<void>;
}

/** The store as {@link CertificateStorage}; failures become `storage_failed`. */
export class SharedCertificateStorage implements CertificateStorage {
  constructor(readonly state: SharedAcmeState, readonly directoryUrl: string) {}

  open(): Promise<void> {
    return Promise.resolve();
  }

  async accountKey(create: () => Promise<string>): Promise<string> {
    try {
      return await this.state.acmeAccountKey(this.directoryUrl, create);
    } catch (error) {
      throw asAcmeError(error, "storage_failed", "Cannot read the fleet's ACME account key");
    }
  }

  async readCertificate(): Promise<StoredCertificate | undefined> {
    let record;
    try {
      record = await this.state.getAcmeCertificate();
    } catch (error) {
      throw asAcmeError(error, "storage_failed", "Cannot read the fleet's certificate");
    }
    if (record === undefined) return undefined;
    try {
      return {
        pair: certificatePair(record.cert, record.key),
        directoryUrl: record.directoryUrl,
        domains: record.domains,
      };
    } catch (error) {
      log.warn("Ignoring the fleet's stored certificate: {error}", { error: String(error) });
      return undefined;
    }
  }

  async writeCertificate(stored: StoredCertificate, options: { nowMs: number }): Promise<void> {
    try {
      await this.state.putAcmeCertificate({
        cert: stored.pair.cert,
        key: stored.pair.key,
        directoryUrl: stored.directoryUrl,
        domains: stored.domains,
        storedAt: options.nowMs,
      });
    } catch (error) {
      throw asAcmeError(error, "storage_failed", "Cannot store the fleet's certificate");
    }
  }
}

/**
 * The HTTP-01 listener of a relay in a fleet: open for the relay's whole life (the CA may reach
 * it during any relay's order), answering from the store; its solver publishes challenges there.
 * @throws {AcmeError} challenge_listener_failed when `listen` cannot be bound
 */
export function sharedHttp01(
  state: SharedAcmeState,
  listen: string,
  now: () => number,
): { solver: ChallengeSolver; server: Http01Server } {
  const server = Http01Server.start(listen, (token) => state.getAcmeChallenge(token));
  const session: ChallengeSession = {
    present: async (_domain, token, keyAuthorization) => {
      server.pending.set(token, keyAuthorization);
      try {
        await state.putAcmeChallenge(token, keyAuthorization, now());
      } catch (error) {
        throw asAcmeError(error, "storage_failed", "Cannot publish the challenge to the fleet");
      }
    },
    cleanup: async (_domain, token) => {
      server.pending.delete(token);
      await state.deleteAcmeChallenge(token).catch((error) =>
        log.warn("Cannot remove a challenge from the store: {error}", { error: String(error) })
      );
    },
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  return { server, solver: { type: "http-01", open: () => Promise.resolve(session) } };
}

/**
 * The fleet's stored certificate when this relay can serve it instead of ordering: valid for the
 * configured domains and directory, not yet due for renewal, and newer than `current`.
 */
export async function usableStored(
  storage: CertificateStorage,
  config: AcmeConfig,
  current: CertificatePair | undefined,
  nowMs: number,
): Promise<CertificatePair | undefined> {
  const stored = await storage.readCertificate();
  if (stored === undefined || stored.directoryUrl !== config.directory_url) return undefined;
  const pair = stored.pair;
  if (pairProblem(pair, config.domains, nowMs) !== undefined) return undefined;
  if (current && pair.info.notAfter.getTime() <= current.info.notAfter.getTime()) return undefined;
  const due = renewalTime({
    notBeforeMs: pair.info.notBefore.getTime(),
    notAfterMs: pair.info.notAfter.getTime(),
  }, { fraction: config.renew_before_fraction, random: () => 0.5 });
  return due > nowMs ? pair : undefined;
}

/**
 * Obtains a certificate for the fleet: under the store's order lock, serve what another relay
 * stored meanwhile, else `order` (which stores its result); while another relay holds the lock,
 * wait for its certificate.
 * @throws {AcmeError} aborted when `signal` ends the wait; what `order` throws
 */
export async function orderOnce(options: {
  state: SharedAcmeState;
  storage: CertificateStorage;
  config: AcmeConfig;
  current: CertificatePair | undefined;
  now: () => number;
  signal: AbortSignal;
  order: () => Promise<CertificatePair>;
}): Promise<CertificatePair> {
  const { state, storage, config, current, now, signal } = options;
  let told = false;
  while (!signal.aborted) {
    let held: { value: CertificatePair } | undefined;
    try {
      held = await state.tryAcmeOrderLock(async () =>
        await usableStored(storage, config, current, now()) ?? await options.order()
      );
    } catch (error) {
      throw asAcmeError(error, "storage_failed", "Cannot order through the fleet's lock");
    }
    if (held) return held.value;
    if (!told) log.info("Another relay of the fleet is ordering the certificate; waiting for it");
    told = true;
    await new Promise((r) => setTimeout(r, SHARED_POLL_MS));
    const theirs = await usableStored(storage, config, current, now());
    if (theirs) return theirs;
  }
  throw new AcmeError("aborted", "Stopped before a certificate was obtained");
}
