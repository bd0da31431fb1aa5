/**
 * One certificate order with acme-client (RFC 8555): register or find the account, order the
 * domains, answer each pending authorization with the configured challenge, finalize with a CSR
 * for a fresh ECDSA P-256 key, download the chain, check it. Retrying is the caller's business.
 * @module
 */
import "./_npm_env.ts"; // before acme-client: see there
import * as acme from "acme-client";
import { getLogger } from "@logtape/logtape";
import { AcmeError, type AcmeErrorCode, asAcmeError } from "./acme_error.ts";
import { type CertificatePair, certificatePair, pairProblem } from "./certificate_pair.ts";
import type { ChallengeSolver } from "./challenge_solver.ts";

const log = getLogger(["ztna", "acme"]);

/** Longest common name (RFC 5280 ub-common-name); longer first domains go in the SAN only. */
const MAX_COMMON_NAME = 64;

/**
 * Polling of challenges and orders (acme-client's backoff): 15 tries, 0.5 s doubling to 5 s, about
 * a minute in all; Let's Encrypt usually validates within seconds.
 */
const POLL = { backoffAttempts: 15, backoffMin: 500, backoffMax: 5_000 } as const;

/** Options of {@link obtainCertificate}. */
export interface ObtainOptions {
  directoryUrl: string;
  /** The account's private key, PEM. */
  accountKey: string;
  email?: string;
  domains: readonly string[];
  solver: ChallengeSolver;
  signal: AbortSignal;
  /** Clock for the final check. @default {Date.now} */
  now?: () => number;
  /** Polling of pending objects; tests shorten it. @default {POLL} */
  poll?: { backoffAttempts: number; backoffMin: number; backoffMax: number };
}

/** Runs one step, turning what acme-client throws into an {@link AcmeError}. */
async function step<T>(what: string, code: AcmeErrorCode, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw asAcmeError(error, code, what);
  }
}

/**
 * Obtains a certificate for `domains`.
 * @throws {AcmeError} ca_unreachable, ca_error, challenge_failed, challenge_listener_failed,
 *   hook_failed, invalid_certificate, aborted
 */
export async function obtainCertificate(options: ObtainOptions): Promise<CertificatePair> {
  const { directoryUrl, accountKey, email, domains, solver, signal, now = Date.now } = options;
  const client = new acme.Client({ directoryUrl, accountKey, ...(options.poll ?? POLL) });
  const aborted = () => {
    if (signal.aborted) throw new AcmeError("aborted", "Stopped during certificate issuance");
  };
  await step("Cannot register the ACME account", "ca_error", () =>
    client.createAccount({
      termsOfServiceAgreed: true,
      ...(email === undefined ? {} : { contact: [`mailto:${email}`] }),
    }));
  aborted();
  const order = await step(
    "Cannot create the order",
    "ca_error",
    () => client.createOrder({ identifiers: domains.map((value) => ({ type: "dns", value })) }),
  );
  const authorizations = await step(
    "Cannot read the order's authorizations",
    "ca_error",
    () => client.getAuthorizations(order),
  );
  {
    await using session = await solver.open(signal);
    for (const authz of authorizations) {
      aborted();
      const domain = authz.identifier.value;
      if (authz.status === "valid") continue; // the CA remembers a recent validation
      const challenge = authz.challenges.find((c) => c.type === solver.type);
      if (challenge === undefined) {
        throw new AcmeError(
          "challenge_failed",
          `The CA offers no ${solver.type} challenge for ${domain}`,
        );
      }
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      await session.present(domain, challenge.token, keyAuthorization);
      try {
        await step(
          `Cannot validate ${domain} with ${solver.type}`,
          "challenge_failed",
          async () => {
            await client.completeChallenge(challenge);
            await client.waitForValidStatus(challenge);
          },
        );
        log.info("Validated {domain} with {challenge}", { domain, challenge: solver.type });
      } finally {
        await session.cleanup(domain, challenge.token, keyAuthorization);
      }
    }
  }
  aborted();
  const commonName = domains[0].length <= MAX_COMMON_NAME ? { commonName: domains[0] } : {};
  const [keyPem, csr] = await acme.crypto.createCsr(
    { ...commonName, altNames: [...domains] },
    await acme.crypto.createPrivateEcdsaKey("P-256"),
  );
  const finalized = await step(
    "Cannot finalize the order",
    "ca_error",
    () => client.finalizeOrder(order, csr),
  );
  const chain = await step(
    "Cannot download the certificate",
    "ca_error",
    () => client.getCertificate(finalized),
  );
  const pair = certificatePair(chain, keyPem.toString());
  const problem = pairProblem(pair, domains, now());
  if (problem !== undefined) {
    throw new AcmeError("invalid_certificate", `The CA's certificate is unusable: ${problem}`);
  }
  return pair;
}
