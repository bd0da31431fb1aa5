/**
 * The relay's admission decisions as pure functions, beside auth/policy.ts: whether a connection may
 * start its handshake, whether a flow (relayed, or a direct path's request) may open and to which pool
 * member, whether a registration may be taken. Inputs are plain values the I/O shell read — a rate
 * limiter's answer, the token's validity now, the registry — and the answer is a {@link Decision} with
 * the code the peer gets and the reason operators read. No clock, no logging, no metrics here: the
 * shell reports every refusal through one observer (refusal_observer.ts).
 * @module
 */
import { authorizeFlow, authorizeRegistration, type Identity } from "../auth/mod.ts";
import type { PolicyDecision } from "../policy/mod.ts";
import { ruleLabel } from "../policy/mod.ts";
import type { ErrorCode } from "../protocol/mod.ts";
import { poolKey } from "./registry.ts";
import { type LinkTransport, linkTransport, type PeerLink } from "../transport/peer_link.ts";

/** A refusal: the code the peer gets, why (for logs), and the rate limit that bit, if one did. */
export interface Refusal {
  allow: false;
  code: ErrorCode;
  why: string;
  /** Label of `ztna_rate_limited_total` when a rate limit refused. */
  rateLimit?: RateLimit;
  /** The access-policy rule that refused ("no grant" when none granted); never sent to the peer. */
  rule?: string;
}

/** The labels of `ztna_rate_limited_total`. */
export type RateLimit =
  | "handshakes_total"
  | "handshakes_per_source"
  | "flow_opens_per_identity"
  | "registrations_per_identity"
  | "pending_opens_per_connection";

/** Allowed (with what was chosen), or refused. */
export type Admission<T = Record<never, never>> = ({ allow: true } & T) | Refusal;

function refuse(code: ErrorCode, why: string, rateLimit?: RateLimit): Refusal {
  return rateLimit ? { allow: false, code, why, rateLimit } : { allow: false, code, why };
}

/** What decides whether a new QUIC connection may start its handshake. */
export interface ConnectionState {
  draining: boolean;
  sessions: number;
  maxConnections: number;
}

/**
 * May a new connection start its handshake? Checked before any crypto work; the global handshake
 * rate is taken only after this allows it ({@link admitHandshakeRate}), so a draining or full relay
 * spends no tokens.
 */
export function admitConnection(s: ConnectionState): Admission {
  if (s.draining) return refuse("going_away", "shutting down");
  if (s.sessions >= s.maxConnections) {
    return refuse("relay_overloaded", `max_connections = ${s.maxConnections}`);
  }
  return { allow: true };
}

/** The global handshake rate's answer as a decision. */
export function admitHandshakeRate(allowed: boolean, perSecond: number): Admission {
  return allowed ? { allow: true } : refuse(
    "limit_exceeded",
    `handshakes_per_second = ${perSecond}`,
    "handshakes_total",
  );
}

/** The per-source handshake rate's answer as a decision. */
export function admitSource(allowed: boolean, perSecond: number, burst: number): Admission {
  return allowed ? { allow: true } : refuse(
    "limit_exceeded",
    `handshakes_per_second_per_source = ${perSecond} after a burst of ${burst}`,
    "handshakes_per_source",
  );
}

/** What an open (a relayed flow, a direct path's request or renewal) is checked against. */
export interface OpenState {
  identity: Identity;
  service: string;
  /** The identity's flow-open rate limiter allowed this open. */
  rateAllowed: boolean;
  /** Revocation or expiry of the identity's token now, if either applies. */
  invalid: ErrorCode | undefined;
  nowMs: number;
  /**
   * The access policy's decision for this identity and service, when a policy is loaded: the
   * token's grant and the policy must both allow (deny wins).
   */
  policy?: PolicyDecision;
}

/**
 * The checks every open passes, in order: rate, revocation and expiry, the token's grant, the
 * access policy. A policy refusal is `unauthorized` on the wire, like a missing grant: the peer
 * learns nothing about the rules; the refusal carries the rule for operators.
 */
export function admitOpen(s: OpenState): Admission {
  if (!s.rateAllowed) {
    return refuse(
      "limit_exceeded",
      "flow_opens_per_second_per_identity",
      "flow_opens_per_identity",
    );
  }
  if (s.invalid) return refuse(s.invalid, `token ${s.invalid.replace("token_", "")}`);
  const grant = authorizeFlow(s.identity, s.service, { nowMs: s.nowMs });
  if (!grant.allow) return grant;
  if (s.policy && !s.policy.allow) {
    return {
      allow: false,
      code: "unauthorized",
      why: `policy: ${s.policy.why}`,
      rule: ruleLabel(s.policy),
    };
  }
  return { allow: true };
}

/** The pools a flow can be served from: the connector registry, as far as admission reads it. */
export interface Pools<M> {
  pick(key: string, exclude?: ReadonlySet<string>, prefer?: (m: M) => boolean): M | undefined;
  isKnown(key: string): boolean;
}

/**
 * How long after its start the relay cannot tell a misspelled service from one whose connectors
 * are still re-homing: they notice a restarted relay within ~3 s, then back off at most
 * `reconnect_max_ms` (30 s by default) between attempts. Until then an unregistered service is
 * `no_connector` (and waits like one), not `unknown_service`.
 */
export const REGISTRATION_GRACE_MS = 30_000;

/** Which member of a pool a flow goes to, and what the refusal says when none is left. */
export interface MemberState<M> {
  service: string;
  protocol: "tcp" | "udp" | undefined;
  pools: Pools<M>;
  /** Members already tried for this flow (they did not accept it). @default {none} */
  exclude?: ReadonlySet<string>;
  /** Milliseconds since the relay started. @default {past the grace} */
  uptimeMs?: number;
  /** `limits.registration_grace_ms`. @default {REGISTRATION_GRACE_MS} */
  graceMs?: number;
  /**
   * Members preferred among the healthy ones (those on the transport of the client's link the
   * flow came on, see {@link sameTransport}); any healthy member when none is. @default {none}
   */
  prefer?: (m: M) => boolean;
}

/**
 * The preference of a flow that came on a client link over `transport`: the member on the same
 * transport (a connector's TCP lane for a flow from a client's TCP lane, its QUIC link otherwise),
 * so a TCP flow is spliced TLS to TLS at the relay and UDP flows stay on QUIC.
 */
export function sameTransport<M extends { readonly conn: PeerLink }>(
  transport: LinkTransport,
): (m: M) => boolean {
  return (m) => linkTransport(m.conn) === transport;
}

/**
 * The pool member a flow goes to: healthy before suspect, preferred (`prefer`) before not, fewest
 * flows, round robin (registry.ts), never one in `exclude`. None left: `no_connector` when the service had a connector since start
 * (or the relay started less than {@link REGISTRATION_GRACE_MS} ago), `unknown_service` otherwise.
 */
export function admitMember<M>(s: MemberState<M>): Admission<{ member: M; pool: string }> {
  const pool = poolKey(s.service, s.protocol);
  const member = s.pools.pick(pool, s.exclude, s.prefer);
  if (member !== undefined) return { allow: true, member, pool };
  if (s.pools.isKnown(pool)) {
    return refuse(
      "no_connector",
      s.exclude?.size
        ? `no other connector of ${pool} took the flow`
        : `no connector online for ${pool}`,
    );
  }
  const grace = s.graceMs ?? REGISTRATION_GRACE_MS;
  const uptime = s.uptimeMs ?? grace;
  return uptime < grace
    ? refuse(
      "no_connector",
      `no connector has registered ${pool} in the ${Math.round(uptime / 1000)} s since the ` +
        "relay started",
    )
    : refuse("unknown_service", `no connector has registered ${pool}`);
}

/** What a relayed flow's admission reads besides the open's own checks. */
export interface FlowState<M> extends OpenState, MemberState<M> {
  draining: boolean;
  /** Flows relayed now, this one included. */
  activeFlows: number;
  maxFlows: number;
}

/**
 * May this relayed flow open, and to which member of its service's pool? Draining, the relay's flow
 * cap, then {@link admitOpen}, then {@link admitMember}. The shell asks {@link admitMember} alone
 * for the next member when one did not take the flow, or after waiting for a connector.
 */
export function admitFlow<M>(s: FlowState<M>): Admission<{ member: M; pool: string }> {
  if (s.draining) return refuse("going_away", "shutting down");
  if (s.activeFlows > s.maxFlows) return refuse("relay_overloaded", `max_flows = ${s.maxFlows}`);
  const open = admitOpen(s);
  if (!open.allow) return open;
  return admitMember(s);
}

/**
 * May a flow that found no member wait for a connector to register? Only `no_connector` waits
 * (after the grace, `unknown_service` is a name no connector serves: waiting would only delay the
 * error), and only while its wait has time left.
 */
export function mayWaitForConnector(refusal: Refusal, waitLeftMs: number): boolean {
  return refusal.code === "no_connector" && waitLeftMs > 0;
}

/** May this connector register `service` now? The registration rate, then the grant. */
export function admitRegistration(
  identity: Identity,
  service: string,
  rateAllowed: boolean,
  perMinute: number,
): Admission {
  if (!rateAllowed) {
    return refuse(
      "limit_exceeded",
      `registrations_per_minute_per_identity = ${perMinute}`,
      "registrations_per_identity",
    );
  }
  const grant = authorizeRegistration(identity, service);
  return grant.allow ? { allow: true } : grant;
}
