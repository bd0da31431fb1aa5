/**
 * How a challenge is answered, behind one interface: HTTP-01 through our own short-lived listener,
 * dns-01 through the operator's hook. An order opens a session, presents each challenge, cleans
 * it up, and disposes the session (the HTTP-01 listener closes).
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { AcmeConfig } from "../config/mod.ts";
import { AcmeError } from "./acme_error.ts";
import { hookArgs, runDnsHook } from "./dns_hook.ts";
import { Http01Server } from "./http01_server.ts";

const log = getLogger(["ztna", "acme"]);

/** One order's use of a solver. */
export interface ChallengeSession extends AsyncDisposable {
  /** Makes the CA's check of `domain` succeed. */
  present(domain: string, token: string, keyAuthorization: string): Promise<void>;
  /** Undoes {@link present}; failures are logged, not thrown. */
  cleanup(domain: string, token: string, keyAuthorization: string): Promise<void>;
}

/** A challenge type we can answer. */
export interface ChallengeSolver {
  readonly type: "http-01" | "dns-01";
  /**
   * Prepares for one order.
   * @throws {AcmeError} challenge_listener_failed when the HTTP-01 listener cannot bind
   */
  open(signal: AbortSignal): Promise<ChallengeSession>;
}

/** HTTP-01: a listener on `listen` for the duration of one order. */
export function http01Solver(listen: string): ChallengeSolver {
  return {
    type: "http-01",
    open(): Promise<ChallengeSession> {
      const server = Http01Server.start(listen);
      log.debug("HTTP-01 challenge listener on {address}", {
        address: `${server.addr.hostname}:${server.addr.port}`,
      });
      return Promise.resolve({
        present: (_domain, token, keyAuthorization) => {
          server.pending.set(token, keyAuthorization);
          return Promise.resolve();
        },
        cleanup: (_domain, token) => {
          server.pending.delete(token);
          return Promise.resolve();
        },
        [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
      });
    },
  };
}

/** dns-01: the hook publishes and removes `_acme-challenge.<domain>` TXT records. */
export function dns01Solver(hook: string, timeoutMs: number): ChallengeSolver {
  return {
    type: "dns-01",
    open(signal: AbortSignal): Promise<ChallengeSession> {
      const run = (action: "present" | "cleanup", domain: string, value: string) =>
        runDnsHook(hookArgs(action, domain, value), { hook, timeoutMs, signal });
      return Promise.resolve({
        present: (domain, _token, value) => run("present", domain, value),
        cleanup: async (domain, _token, value) => {
          try {
            await run("cleanup", domain, value);
          } catch (error) {
            log.warn("The dns-01 cleanup of {domain} failed: {error}", {
              domain,
              error: error instanceof AcmeError ? error.message : String(error),
            });
          }
        },
        [Symbol.asyncDispose]: () => Promise.resolve(),
      });
    },
  };
}

/** The solver `[intermediate.acme]` asks for. */
export function solverFor(config: AcmeConfig): ChallengeSolver {
  if (config.challenge === "dns-01") {
    if (config.dns_hook === undefined) {
      throw new AcmeError("hook_failed", "Cannot use dns-01 without [intermediate.acme] dns_hook");
    }
    return dns01Solver(config.dns_hook, config.dns_hook_timeout_ms);
  }
  return http01Solver(config.http_listen);
}
