/**
 * The choice between QUIC and TLS over TCP for `transport = "auto"`, as a pure function of what
 * each attempt has done so far and the time: QUIC first; TCP too once QUIC has not even connected
 * (its handshake, i.e. UDP answers) within the fallback delay, or at once when QUIC failed; the
 * first to authenticate wins; a relay's refusal (bad token, revoked) is final whichever transport
 * heard it. A QUIC connection that is up but still awaiting WELCOME (a busy relay verifying the
 * token) does not start TCP: UDP works, and TCP would wait for the same verification.
 * @module
 */

/** Where one transport's attempt stands. */
export type AttemptState =
  | "idle"
  | "pending"
  | "connected"
  | "authenticated"
  | "failed"
  | "refused";

/** What the dialer does next. */
export type ChoiceStep =
  | { kind: "wait" }
  | { kind: "start_tcp" }
  | { kind: "use"; transport: "quic" | "tcp" }
  | { kind: "fail"; why: "refused" | "unreachable" };

/** The next step, given both attempts and how long QUIC has been trying. */
export function chooseLink(
  s: { quic: AttemptState; tcp: AttemptState; elapsedMs: number; fallbackMs: number },
): ChoiceStep {
  if (s.quic === "authenticated") return { kind: "use", transport: "quic" };
  if (s.tcp === "authenticated") return { kind: "use", transport: "tcp" };
  if (s.quic === "refused" || s.tcp === "refused") return { kind: "fail", why: "refused" };
  const quicSilent = s.quic === "pending" && s.elapsedMs >= s.fallbackMs;
  if (s.tcp === "idle" && (s.quic === "failed" || quicSilent)) {
    return { kind: "start_tcp" };
  }
  if (s.quic === "failed" && s.tcp === "failed") return { kind: "fail", why: "unreachable" };
  return { kind: "wait" };
}

/** Delay before the next QUIC probe while on TCP: `probeMs` with ±25 % jitter. */
export function probeDelayMs(probeMs: number, random: () => number = Math.random): number {
  return Math.round(probeMs * (0.75 + random() / 2));
}
