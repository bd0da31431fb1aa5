/**
 * What every peer session of a relay is given: the relay's shared parts and callbacks, and the
 * settings of `[intermediate.limits]` under the names a session uses. Built once per relay.
 * @module
 */
import type { IntermediateConfig } from "../config/schema.ts";
import type { SessionDeps } from "./peer_session.ts";

/** The session settings that come from `[intermediate.limits]`. */
type SessionLimits = Pick<
  SessionDeps,
  | "headerTimeoutMs"
  | "openTimeoutMs"
  | "acceptTimeoutMs"
  | "connectorWaitMs"
  | "registrationGraceMs"
  | "helloTimeoutMs"
  | "maxFlows"
  | "maxStreamsPerConnection"
  | "queueDepth"
  | "maxPendingOpens"
  | "registrationsPerMinute"
>;

/** The relay's parts and callbacks a session uses: all of {@link SessionDeps} but the limits. */
export type SessionHooks = Omit<SessionDeps, keyof SessionLimits>;

/** The deps of every session of one relay: `hooks` plus the limits, renamed. */
export function sessionDeps(
  limits: IntermediateConfig["limits"],
  hooks: SessionHooks,
): SessionDeps {
  return {
    ...hooks,
    // The OPEN header has no deadline of its own: it shares the HELLO's.
    headerTimeoutMs: limits.hello_timeout_ms,
    openTimeoutMs: limits.flow_open_timeout_ms,
    acceptTimeoutMs: limits.flow_accept_timeout_ms,
    connectorWaitMs: limits.connector_wait_ms,
    registrationGraceMs: limits.registration_grace_ms,
    helloTimeoutMs: limits.hello_timeout_ms,
    maxFlows: limits.max_flows,
    maxStreamsPerConnection: limits.max_streams_per_connection,
    queueDepth: limits.datagram_queue_depth,
    maxPendingOpens: limits.max_pending_opens_per_connection,
    registrationsPerMinute: limits.registrations_per_minute_per_identity,
  };
}
