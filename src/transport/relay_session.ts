/**
 * One dialer session with one relay, shared by connector and client: dial with verified TLS,
 * HELLO, hand the session to the role, and report how it ended for the reconnect loop.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { RelayTarget } from "./dial.ts";
import { ERRORS } from "../protocol/mod.ts";
import { closeCodeOf, DialError, helloRelay, type RelaySession } from "./dial.ts";
import { connectRelay, dialLink, type LinkDialOptions } from "./link_dial.ts";
import { probeDelayMs } from "./link_choice.ts";
import { linkTransport } from "./peer_link.ts";
import type { SessionEnd } from "./reconnect.ts";
import { TcpLink } from "./tcp_link.ts";

/** What a session needs besides its target. */
export interface RelaySessionOptions extends Omit<LinkDialOptions, "signal"> {
  role: "client" | "connector";
  /** The token, or a login's ID token (the relay then issues the token: WELCOME `issuedToken`). */
  token: string | { idToken: string };
  /**
   * With transport "auto", while the session is on TCP: try QUIC about this often and move to it
   * when it authenticates. @default {30000}
   */
  quicProbeMs?: number;
  signal: AbortSignal;
  log: Logger;
}

/**
 * Runs `serve` on an authenticated session with `target` until it returns or the connection ends.
 * With transport "auto", a session that landed on TCP keeps probing QUIC; when QUIC authenticates,
 * `serve` gets the QUIC session (new flows go there) while the TCP link is retired: its running
 * flows finish on it. Never throws. On abort, closes the connection with "going away" so the relay
 * forgets us at once.
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
  const retiring: Promise<unknown>[] = [];
  try {
    while (true) {
      const conn = session.conn;
      const onAbort = () => conn.close({ closeCode: ERRORS.going_away.wire, reason: "going_away" });
      signal.addEventListener("abort", onAbort, { once: true });
      const probe = options.transport === "auto" && conn instanceof TcpLink
        ? probeQuic(target, options, session)
        : undefined;
      let moved: RelaySession | undefined;
      try {
        log.info("Connected to relay {relay} as {identity} over {transport}", {
          relay,
          identity: session.welcome.identity,
          transport: linkTransport(conn),
        });
        const served = serve(session);
        const first = await Promise.race([
          served.then(() => undefined),
          probe?.found ?? new Promise<never>(() => {}),
        ]);
        if (first && conn instanceof TcpLink && !signal.aborted) {
          moved = first;
          log.info("QUIC to relay {relay} works again: new flows move to it, running ones finish", {
            relay,
          });
          conn.retire();
          retiring.push(served.catch(() => {}));
        } else {
          await served;
          const code = await closeCodeOf(conn);
          if (!signal.aborted) {
            log.warn("Lost relay {relay} ({code})", { relay, code: code ?? "closed" });
          }
          return { authenticated: true, code };
        }
      } catch (e) {
        log.warn("Session with relay {relay} failed: {error}", { relay, error: String(e) });
        return { authenticated: true, code: await closeCodeOf(conn) };
      } finally {
        probe?.stop();
        signal.removeEventListener("abort", onAbort);
        if (!moved) {
          try {
            conn.close({ closeCode: 0, reason: "" });
          } catch { /* already closed */ }
        }
      }
      session = moved;
    }
  } finally {
    await Promise.all(retiring);
  }
}

/**
 * Tries QUIC every `quicProbeMs` (±25 %) while `session` (on TCP) lives; `found` resolves with the
 * first QUIC session that authenticates. A probe's dial gives up after the fallback delay's worth
 * of patience (at least 2 s), so a blocked UDP costs one short attempt per interval.
 */
function probeQuic(
  target: RelayTarget,
  options: RelaySessionOptions,
  session: RelaySession,
): { found: Promise<RelaySession>; stop(): void } {
  const stop = new AbortController();
  const found = (async () => {
    while (!stop.signal.aborted) {
      const ms = probeDelayMs(options.quicProbeMs ?? 30_000);
      await new Promise<void>((r) => {
        const t = setTimeout(r, ms);
        stop.signal.addEventListener("abort", () => {
          clearTimeout(t);
          r();
        }, { once: true });
      });
      if (stop.signal.aborted) break;
      const timeoutMs = Math.max(2_000, (options.tcpFallbackMs ?? 500) * 4);
      try {
        const link = await dialLink(target, {
          ...options,
          transport: "quic",
          timeoutMs,
          signal: AbortSignal.any([options.signal, stop.signal]),
        });
        try {
          const quic = await helloRelay(
            link,
            options.role,
            session.welcome.issuedToken ?? options.token,
            timeoutMs,
          );
          if (stop.signal.aborted) {
            link.close({ closeCode: 0, reason: "" });
            break;
          }
          return quic;
        } catch {
          link.close({ closeCode: 0, reason: "" });
        }
      } catch { /* UDP still blocked: try again later */ }
    }
    return await new Promise<never>(() => {});
  })();
  return { found, stop: () => stop.abort() };
}
