/**
 * Dialing a relay over the transport the config asks for — QUIC, TLS over TCP, or "auto" (both,
 * as link_choice.ts decides) — and the HELLO on the chosen link. Both transports verify the relay's
 * certificate the same way (C1) and report failures as the same {@link DialError} kinds.
 * @module
 */
import { parseHostPort } from "../protocol/address.ts";
import type { HostPortValue } from "../protocol/address.ts";
import { DialError, type DialOptions, dialRelay, helloRelay, type RelaySession } from "./dial.ts";
import type { RelayTarget } from "./dial.ts";
import { type AttemptState, chooseLink } from "./link_choice.ts";
import type { PeerLink } from "./peer_link.ts";
import { dialTcpLink, LinkRefused } from "./tcp_link.ts";
import { codeFromWire } from "../protocol/mod.ts";

/** Which transport to dial. */
export type TransportChoice = "auto" | "quic" | "tcp";

/** Options of {@link dialLink} and {@link connectRelay}. */
export interface LinkDialOptions extends DialOptions {
  /** @default {"quic"} */
  transport?: TransportChoice;
  /** With "auto": QUIC alone this long before TCP starts too. @default {500} */
  tcpFallbackMs?: number;
  /** Over TCP: idle OFFER connections to keep (connectors). @default {0} */
  offers?: number;
  /** Over TCP: STREAM connections to keep dialed ahead (clients). @default {0} */
  spares?: number;
  /** Opens TCP to the relay (directly or through an HTTP proxy). @default {direct connect} */
  connectTcp?: (target: HostPortValue, signal?: AbortSignal) => Promise<Deno.TcpConn>;
}

/**
 * Dials one link over `transport` ("auto" is not a transport here).
 * @throws {DialError} untrusted_certificate, unreachable or protocol
 */
export async function dialLink(
  target: RelayTarget,
  options: LinkDialOptions & { transport: "quic" | "tcp" },
): Promise<PeerLink> {
  if (options.transport === "quic") return await dialRelay(target, options);
  const addr = parseHostPort(target.address);
  if (!addr.ok) throw new DialError({ kind: "unreachable", detail: addr.reason }, addr.reason);
  const serverName = target.server_name ?? addr.value.hostname;
  try {
    return await dialTcpLink({
      address: addr.value,
      serverName,
      caCerts: options.caCerts,
      keepAliveMs: options.keepAliveMs,
      idleTimeoutMs: options.idleTimeoutMs,
      timeoutMs: options.timeoutMs,
      offers: options.offers,
      spares: options.spares,
      connect: options.connectTcp,
      // The link keeps this for its later dials: the session's signal, not a deadline.
      signal: options.signal,
    });
  } catch (e) {
    if (e instanceof LinkRefused) {
      const code = codeFromWire(e.closeCode) ?? "unknown";
      throw new DialError({ kind: "refused", code }, `Relay refused the connection: ${code}`, {
        cause: e,
      });
    }
    const detail = e instanceof Error ? e.message : String(e);
    if (/certificate|UnknownIssuer|NotValidForName|Expired/i.test(detail)) {
      throw new DialError(
        { kind: "untrusted_certificate", detail },
        `Cannot trust relay ${target.address} over TCP: its certificate is not valid for ` +
          `"${serverName}" or not signed by a trusted CA (${detail})`,
        { cause: e },
      );
    }
    throw new DialError(
      { kind: "unreachable", detail },
      `Cannot reach relay ${target.address} over TCP: ${detail}`,
      { cause: e },
    );
  }
}

/** One transport's dial + HELLO. */
async function attempt(
  target: RelayTarget,
  options: LinkDialOptions & { transport: "quic" | "tcp" },
  role: "client" | "connector",
  token: string | { idToken: string },
  connected: () => void = () => {},
): Promise<RelaySession> {
  const link = await dialLink(target, options);
  connected();
  try {
    return await helloRelay(link, role, token);
  } catch (e) {
    try {
      link.close({ closeCode: 0, reason: "" });
    } catch { /* closed */ }
    throw e;
  }
}

/**
 * Dials and authenticates over the configured transport; with "auto", QUIC and (after the fallback
 * delay, or at once when QUIC failed) TCP race, the first to authenticate wins and the other is
 * closed.
 * @throws {DialError} the relay's refusal, or why neither transport worked (QUIC's reason first)
 */
export async function connectRelay(
  target: RelayTarget,
  options: LinkDialOptions,
  role: "client" | "connector",
  token: string | { idToken: string },
): Promise<RelaySession> {
  const choice = options.transport ?? "quic";
  if (choice !== "auto") {
    return await attempt(target, { ...options, transport: choice }, role, token);
  }
  const fallbackMs = options.tcpFallbackMs ?? 500;
  const started = Date.now();
  const state: Record<"quic" | "tcp", AttemptState> = { quic: "pending", tcp: "idle" };
  const sessions: Partial<Record<"quic" | "tcp", RelaySession>> = {};
  const errors: Partial<Record<"quic" | "tcp", unknown>> = {};
  const running: Partial<Record<"quic" | "tcp", Promise<unknown>>> = {};
  let wake: () => void = () => {};
  const run = (transport: "quic" | "tcp") => {
    state[transport] = "pending";
    const connected = () => {
      if (state[transport] === "pending") state[transport] = "connected";
      wake();
    };
    running[transport] = attempt(target, { ...options, transport }, role, token, connected).then(
      (s) => {
        sessions[transport] = s;
        state[transport] = "authenticated";
      },
      (e) => {
        errors[transport] = e;
        state[transport] = e instanceof DialError && e.failure.kind === "refused"
          ? "refused"
          : "failed";
      },
    ).finally(() => wake());
  };
  run("quic");
  while (true) {
    const step = chooseLink({ ...state, elapsedMs: Date.now() - started, fallbackMs });
    if (step.kind === "start_tcp") {
      run("tcp");
      continue;
    }
    if (step.kind === "use") {
      const other = step.transport === "quic" ? "tcp" : "quic";
      // The loser closes as soon as it settles: only one link per relay stays.
      void running[other]?.finally(() =>
        sessions[other]?.conn.close({ closeCode: 0, reason: "superseded" })
      );
      return sessions[step.transport]!;
    }
    if (step.kind === "fail") {
      throw errors[step.why === "refused" && state.tcp === "refused" ? "tcp" : "quic"] ??
        errors.tcp;
    }
    await new Promise<void>((r) => {
      wake = r;
      const left = fallbackMs - (Date.now() - started);
      if (state.tcp === "idle" && left > 0) setTimeout(r, left);
    });
  }
}
