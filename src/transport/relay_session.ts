/**
 * One dialer session with one relay, shared by connector and client: dial with verified TLS,
 * HELLO, hand the session to the role, and report how it ended for the reconnect loop.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { RelayTarget } from "./dial.ts";
import { ERRORS } from "../protocol/mod.ts";
import { closeCodeOf, DialError, type RelaySession } from "./dial.ts";
import { connectRelay, type LinkDialOptions } from "./link_dial.ts";
import { linkTransport } from "./peer_link.ts";
import type { SessionEnd } from "./reconnect.ts";

/** What a session needs besides its target. */
export interface RelaySessionOptions extends Omit<LinkDialOptions, "signal"> {
  role: "client" | "connector";
  /** The token, or a login's ID token (the relay then issues the token: WELCOME `issuedToken`). */
  token: string | { idToken: string };
  signal: AbortSignal;
  log: Logger;
}

/**
 * Runs `serve` on an authenticated session with `target` until it returns or the connection ends.
 * Never throws. On abort, closes the connection with "going away" so the relay forgets us at once.
 */
export async function runRelaySession(
  target: RelayTarget,
  options: RelaySessionOptions,
  serve: (session: RelaySession) => Promise<void>,
): Promise<SessionEnd> {
  const { role, token, signal, log } = options;
  const relay = target.address;
  let session: RelaySession;
  try {
    session = await connectRelay(target, options, role, token);
  } catch (e) {
    if (e instanceof DialError && e.failure.kind === "refused") {
      log.error("Relay {relay} refused this {role}: {code}", { relay, role, code: e.failure.code });
      return { authenticated: false, code: e.failure.code };
    }
    const untrusted = e instanceof DialError && e.failure.kind === "untrusted_certificate";
    log[untrusted ? "error" : "warn"]("{error}", {
      error: e instanceof Error ? e.message : String(e),
    });
    return { authenticated: false };
  }
  const conn = session.conn;
  const onAbort = () => conn.close({ closeCode: ERRORS.going_away.wire, reason: "going_away" });
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    log.info("Connected to relay {relay} as {identity} over {transport}", {
      relay,
      identity: session.welcome.identity,
      transport: linkTransport(conn),
    });
    await serve(session);
    const code = await closeCodeOf(conn);
    if (!signal.aborted) log.warn("Lost relay {relay} ({code})", { relay, code: code ?? "closed" });
    return { authenticated: true, code };
  } catch (e) {
    log.warn("Session with relay {relay} failed: {error}", { relay, error: String(e) });
    return { authenticated: true, code: await closeCodeOf(conn) };
  } finally {
    signal.removeEventListener("abort", onAbort);
    try {
      conn.close({ closeCode: 0, reason: "" });
    } catch { /* already closed */ }
  }
}
