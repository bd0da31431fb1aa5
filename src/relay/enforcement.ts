/**
 * Ending what is no longer allowed, across the relay's sessions: connections whose token was
 * revoked, flows and direct paths the access policy withdrew, and an operator's kick. Every ending
 * is reported once through the refusal observer.
 * @module
 */
import type { TokenVerifier } from "../auth/mod.ts";
import { type PolicyDecision, ruleLabel } from "../policy/mod.ts";
import type { Identity } from "../auth/mod.ts";
import type { DirectBroker } from "./direct_broker.ts";
import type { PeerSession } from "./peer_session.ts";
import type { RefusalObserver } from "./refusal_observer.ts";
import type { RelayMetrics } from "./relay_metrics.ts";

/** The relay state the enforcement works on. */
export interface EnforcementScope {
  readonly sessions: ReadonlySet<PeerSession>;
  readonly broker: DirectBroker;
  readonly metrics: RelayMetrics;
  readonly observer: RefusalObserver;
  /** Sessions the relay itself closed (revoked, kicked): recorded once, not at every sweep. */
  readonly closedByRelay: WeakSet<PeerSession>;
}

/**
 * Tells every direct-capable connector the token ids revoked since `announced` (their clients'
 * direct paths bypass the relay, and the client need not be connected here at all), and closes
 * every live connection whose token is revoked. Returns the new announced set and how many relay
 * connections were closed.
 */
export function closeRevoked(
  scope: EnforcementScope,
  verifier: TokenVerifier,
  announced: ReadonlySet<string>,
): { announced: Set<string>; closed: number } {
  const fresh = [...verifier.revokedIds].filter((id) => !announced.has(id));
  if (fresh.length > 0) {
    for (const s of scope.sessions) {
      if (s.role === "connector" && s.directServices.size > 0) {
        void s.sendRevocations({ tokenIds: fresh });
      }
    }
  }
  let closed = 0;
  for (const s of scope.sessions) {
    if (!s.tokenId || !verifier.isRevoked(s.tokenId) || scope.closedByRelay.has(s)) continue;
    scope.closedByRelay.add(s);
    scope.observer.refuse({
      code: "token_revoked",
      identity: s.identity,
      connId: s.connId,
      message: "Closing connection {connId} of {identity}: token revoked",
      properties: { connId: s.connId, identity: s.identity },
    });
    s.close("token_revoked");
    closed++;
  }
  return { announced: new Set(verifier.revokedIds), closed };
}

/**
 * Decides every live relayed flow and every brokered direct path again with `decide`, and ends
 * those it refuses: relayed flows are reset (both streams), direct paths are closed by their
 * connector (`direct_revoke {identity, service}`). Only the affected flows end: the client's
 * session stays, so access given back later needs no reconnect.
 */
export function endWithdrawn(
  scope: EnforcementScope,
  decide: (identity: Identity, service: string, source?: string) => PolicyDecision | undefined,
): { flows: number; paths: number } {
  let flows = 0;
  for (const s of scope.sessions) {
    if (s.role !== "client" || s.liveFlows.size === 0) continue;
    for (const flow of [...s.liveFlows]) {
      const d = s.decidePolicy(flow.service);
      if (d === undefined || d.allow) continue;
      s.liveFlows.delete(flow);
      scope.observer.refuse({
        code: "unauthorized",
        counter: scope.metrics.flowsRefused,
        label: "policy_withdrawn",
        identity: s.identity,
        service: flow.service,
        connId: s.connId,
        rule: ruleLabel(d),
        message: "Closing a flow of {identity} to {service}: the policy no longer allows it",
        properties: { identity: s.identity, service: flow.service },
      });
      flow.close("unauthorized");
      flows++;
    }
  }
  const sources = new Map<string, string | undefined>();
  for (const s of scope.sessions) if (s.role === "client") sources.set(s.identity, s.source);
  const withdrawn = scope.broker.withdraw((identity, service) =>
    decide(identity, service, sources.get(identity.subject))
  );
  for (const p of withdrawn) {
    scope.observer.refuse({
      code: "unauthorized",
      counter: scope.metrics.directSessions,
      label: "policy_withdrawn",
      identity: p.identity.subject,
      service: p.service,
      rule: ruleLabel(p.decision),
      message: "Closing direct paths of {identity} to {service}: the policy no longer allows it",
      properties: { identity: p.identity.subject, service: p.service },
    });
    const connector = [...scope.sessions].find((s) => s === p.connector);
    void connector?.sendRevocations({ identity: p.identity.subject, service: p.service });
  }
  return { flows, paths: withdrawn.length };
}

/**
 * Closes one connection with "kicked" (an operator's decision) and has every direct-capable
 * connector drop that identity's direct paths; false when there is no such connection.
 */
export function kickConnection(scope: EnforcementScope, connId: string): boolean {
  for (const s of scope.sessions) {
    if (s.connId !== connId || scope.closedByRelay.has(s)) continue;
    scope.closedByRelay.add(s);
    scope.observer.refuse({
      code: "kicked",
      identity: s.identity,
      connId,
      message: "Closing connection {connId} of {identity}: kicked by an operator",
      properties: { connId, identity: s.identity },
    });
    s.close("kicked");
    for (const c of scope.sessions) {
      if (c.role === "connector" && c.directServices.size > 0) {
        void c.sendRevocations({ identity: s.identity });
      }
    }
    return true;
  }
  return false;
}
