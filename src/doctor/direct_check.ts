/**
 * Whether a direct (P2P) path to a service is possible from here: the relay's broker is asked, as
 * the client asks it, on the doctor's QUIC session; its answer and the NAT's mapping say why not.
 * The doctor does not punch: a brokered path is reported as possible unless the mapping forbids it.
 * @module
 */
import { directCandidates, hostInterfaces } from "../p2p/mod.ts";
import type { RelaySession } from "../transport/mod.ts";
import { deadline, TIMED_OUT } from "../runtime/deadline.ts";
import type { DirectFacts, NatFacts } from "./report.ts";

const WHY_REFUSED: Record<string, string> = {
  no_connector: "no connector of it accepts direct paths now ([connector] direct = true " +
    "enables them), or none is online",
  unauthorized: "the token does not grant it",
  unknown_service: "the relay knows no such service",
  limit_exceeded: "the relay's rate limit for direct requests was reached; try again",
  token_expired: "the token has expired",
  token_revoked: "the token was revoked",
};

/** Asks the broker for a direct path to `service`; never throws. */
export async function checkDirect(
  session: RelaySession<Deno.QuicConn>,
  service: string,
  options: { localPort: number; nat: NatFacts; timeoutMs: number },
): Promise<DirectFacts> {
  const candidates = directCandidates(session.observed, options.localPort, hostInterfaces());
  try {
    await session.control.send({ type: "direct_request", requestId: 1, service, candidates });
    const answer = await deadline(answerTo(session, 1), options.timeoutMs);
    if (answer === TIMED_OUT || answer === null) {
      return { service, possible: null, why: "the relay did not answer the direct request" };
    }
    if (answer.type === "direct_refused") {
      return {
        service,
        possible: false,
        code: answer.code,
        why: WHY_REFUSED[answer.code] ?? `the relay answered ${answer.code}`,
      };
    }
    if (options.nat.mapping === "endpoint-dependent") {
      return {
        service,
        possible: false,
        code: "symmetric_nat",
        why: "the relay brokered one, but this NAT maps each destination to another port " +
          "(symmetric): hole punching will fail",
      };
    }
    return {
      service,
      possible: true,
      why: options.nat.mapping === "unknown"
        ? "the relay brokered one (NAT mapping unknown: punching may still fail)"
        : "the relay brokered one and this NAT keeps one mapping per socket",
    };
  } catch (e) {
    return { service, possible: null, why: e instanceof Error ? e.message : String(e) };
  }
}

/** The broker's answer to request `id`, skipping other control messages (bounded by the caller). */
async function answerTo(session: RelaySession<Deno.QuicConn>, id: number) {
  for (;;) {
    const msg = await session.control.next();
    if (msg === null) return null;
    if ((msg.type === "direct_ready" || msg.type === "direct_refused") && msg.requestId === id) {
      return msg;
    }
  }
}
