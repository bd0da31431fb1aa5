/**
 * Choosing the member of a service's pool that takes a client flow: the admission decision
 * (admission.ts, pure), then each member offered the flow in turn (member_open.ts) until one takes
 * it, with a bounded wait while the pool is empty. The answer is the opened stream and its member,
 * or the refusal the client gets.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { Identity } from "../auth/mod.ts";
import type { ErrorCode } from "../protocol/mod.ts";
import type { PolicyDecision } from "../policy/mod.ts";
import {
  type Admission,
  admitFlow,
  admitMember,
  mayWaitForConnector,
  type Refusal,
  sameTransport,
} from "./admission.ts";
import { linkTransport, type PeerLink } from "../transport/mod.ts";
import type { ConnectorMember, FlowDeps, PolicyPeer } from "./flow_deps.ts";
import { type Opened, openOn, registration } from "./member_open.ts";

/** A refusal of one flow, as the observer reports it. */
export interface FlowRefusal {
  code: ErrorCode | "unknown";
  message: string;
  properties: Record<string, unknown>;
  rule?: string;
}

/** What a flow knows once its OPEN is read. */
export interface FlowOpen {
  identity: Identity;
  service: string;
  protocol: "udp" | undefined;
}

/** A flow a member took: the opened stream, and the member (its `activeFlows` counts the flow). */
export interface Taken {
  opened: Opened;
  member: ConnectorMember;
}

/** The policy decision for admission, as an optional field of its state. */
function policyOf(peer: PolicyPeer, service: string): { policy?: PolicyDecision } {
  const policy = peer.decidePolicy?.(service);
  return policy === undefined ? {} : { policy };
}

/** The flow's admission (admission.ts) from the relay's state now; a rate limit that bit is counted. */
function admit(
  f: FlowOpen,
  peer: PolicyPeer & { readonly conn: PeerLink },
  deps: FlowDeps,
): Admission<{ member: ConnectorMember; pool: string }> {
  const { identity, service, protocol } = f;
  const choice = admitFlow({
    identity,
    service,
    protocol,
    draining: deps.draining(),
    activeFlows: deps.metrics.activeFlows,
    maxFlows: deps.maxFlows,
    rateAllowed: deps.allowFlowOpen(identity.subject),
    invalid: deps.stillValid(identity),
    nowMs: deps.clock(),
    pools: deps.registry,
    uptimeMs: deps.uptimeMs(),
    graceMs: deps.registrationGraceMs,
    ...policyOf(peer, service),
    prefer: sameTransport(linkTransport(peer.conn)),
  });
  if (!choice.allow && choice.rateLimit) deps.metrics.rateLimited.inc(choice.rateLimit);
  return choice;
}

/** An admission refusal as the client's flow reports it. */
function refusalOf(choice: Refusal): FlowRefusal {
  return {
    code: choice.code,
    message: "Refused flow to {service}: {code} ({why})",
    properties: { why: choice.why },
    ...(choice.rule === undefined ? {} : { rule: choice.rule }),
  };
}

/**
 * Admits the flow and offers it to the members of its pool in turn until one takes it (see
 * member_open.ts); waits for a connector while the pool is empty and the wait allows. Returns the
 * opened stream and its member, or the refusal the client gets.
 */
export async function openOnPool(
  f: FlowOpen,
  peer: PolicyPeer & { readonly conn: PeerLink },
  deps: FlowDeps,
  log: Logger,
): Promise<Taken | FlowRefusal> {
  const { identity, service, protocol } = f;
  let choice = admit(f, peer, deps);
  const tried = new Set<string>();
  const waitUntil = deps.clock() + deps.connectorWaitMs;
  const nextMember = () =>
    admitMember({
      service,
      protocol,
      pools: deps.registry,
      exclude: tried,
      uptimeMs: deps.uptimeMs(),
      graceMs: deps.registrationGraceMs,
      prefer: sameTransport(linkTransport(peer.conn)),
    });
  while (true) {
    if (!choice.allow && mayWaitForConnector(choice, waitUntil - deps.clock())) {
      // Empty pool: a connector restarting, or all of them re-homing after a relay restart.
      await registration(deps, waitUntil - deps.clock());
      choice = nextMember();
      continue;
    }
    if (!choice.allow) return refusalOf(choice);
    const candidate = choice.member;
    candidate.activeFlows++;
    const attempt = await openOn(
      candidate,
      choice.pool,
      tried,
      { service, identity: identity.subject, protocol, flowId: deps.nextFlowId() },
      deps,
      log,
    );
    if (attempt.kind === "opened") return { opened: attempt, member: candidate };
    candidate.activeFlows--;
    if (attempt.kind === "failed") {
      return {
        code: attempt.code,
        message: "Flow {flowId} to {service} failed: {code}",
        properties: { flowId: attempt.flowId, connector: candidate.connId },
      };
    }
    tried.add(candidate.connId);
    deps.metrics.flowRetries.inc(attempt.why);
    log.info("Flow to {service}: connector {connector} did not take it ({why}); trying another", {
      service,
      connector: candidate.connId,
      why: attempt.why,
    });
    choice = nextMember();
  }
}
