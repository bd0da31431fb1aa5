/**
 * Keeps one relay session alive: dial, authenticate, run, and on loss wait a growing, jittered delay.
 * The delay resets only after a session that authenticated (the MVP reset it before the handshake,
 * so its backoff never grew).
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { type ErrorCode, ERRORS } from "../protocol/mod.ts";
import { backoffDelay, type BackoffOptions } from "./backoff.ts";

/** How one session attempt ended. */
export interface SessionEnd {
  /** The relay accepted our HELLO during this attempt. */
  authenticated: boolean;
  /** The relay's close or refusal code, if any. */
  code?: ErrorCode | "unknown";
}

/** Options of {@link keepConnected}. */
export interface KeepConnectedOptions extends BackoffOptions {
  /** Label for logs, e.g. the relay address. */
  label: string;
  log: Logger;
  signal: AbortSignal;
}

/** Sleeps `ms` or until `signal` aborts; resolves either way. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs `attempt` until `signal` aborts. A relay that says "going away", or a session lost without a
 * close code, is retried at once, once; a refusal that will not heal by itself (revoked token,
 * wrong role) waits the maximum delay.
 */
export async function keepConnected(
  attempt: () => Promise<SessionEnd>,
  options: KeepConnectedOptions,
): Promise<void> {
  const { label, log, signal } = options;
  let failures = 0;
  let immediateRetry = false;
  while (!signal.aborted) {
    let end: SessionEnd;
    try {
      end = await attempt();
    } catch (e) {
      // An attempt must not throw; if one does, it is our bug: log it and keep the loop alive.
      log.error("Session with {relay} failed unexpectedly: {error}", {
        relay: label,
        error: String(e),
      });
      end = { authenticated: false };
    }
    if (signal.aborted) return;
    if (end.authenticated) failures = 0;
    failures += 1;
    let delay: number;
    // A relay that says "going away", or an authenticated session that simply died (the relay
    // vanished: no close code, noticed by the idle timeout), is retried at once, once: a relay
    // restarted by its supervisor is usually back by the time its death is noticed.
    const vanished = end.authenticated && end.code === undefined;
    if ((end.code === "going_away" || vanished) && !immediateRetry) {
      immediateRetry = true;
      delay = 0;
    } else {
      immediateRetry = false;
      const permanent = end.code !== undefined && end.code !== "unknown" && !ERRORS[end.code].retry;
      delay = backoffDelay(permanent ? 64 : failures, options);
    }
    log.info("Reconnecting to relay {relay} in {delayMs} ms (attempt {attempt})", {
      relay: label,
      delayMs: delay,
      attempt: failures,
    });
    await sleep(delay, signal);
  }
}
