/**
 * What a relayed flow needs: from the relay (registry, metrics, limits, clock, the refusal
 * observer) and from the peers at both ends (a connector as a pool member, the client's byte
 * counters, pending opens and access policy).
 * @module
 */
import type { Identity } from "../auth/mod.ts";
import type { ErrorCode } from "../protocol/mod.ts";
import type { PolicyDecision } from "../policy/mod.ts";
import type { PeerLink } from "../transport/mod.ts";
import type { BrokerPeer } from "./direct_broker.ts";
import type { RefusalObserver } from "./refusal_observer.ts";
import type { ConnectorRegistry, PoolMember } from "./registry.ts";
import type { RelayMetrics } from "./relay_metrics.ts";
import type { DatagramPeer } from "./udp_links.ts";

/** A connector connection as a pool member. */
export interface ConnectorMember extends PoolMember, DatagramPeer, BrokerPeer {
  readonly conn: PeerLink;
  readonly identity: string;
  /** Speaks protocol 3: answers every FLOW with ACCEPT before it dials the backend. */
  readonly sendsAccept: boolean;
}

/** What a flow needs from the relay. */
export interface FlowDeps {
  registry: ConnectorRegistry<ConnectorMember>;
  metrics: RelayMetrics;
  /** Checks revocation and expiry at open time, so a revoked token opens nothing more. */
  stillValid(identity: Identity): ErrorCode | undefined;
  nextFlowId(): number;
  headerTimeoutMs: number;
  /** The connector's REPLY deadline (`limits.flow_open_timeout_ms`). */
  openTimeoutMs: number;
  /** The connector's ACCEPT deadline (`limits.flow_accept_timeout_ms`), protocol 3 only. */
  acceptTimeoutMs: number;
  /** How long a flow waits for a connector of an empty pool (`limits.connector_wait_ms`). */
  connectorWaitMs: number;
  /** Milliseconds since the relay started (an unregistered service is not unknown at first). */
  uptimeMs(): number;
  /** How long after start that is (`limits.registration_grace_ms`). */
  registrationGraceMs: number;
  /** Removes a member whose connection cannot take flows from every pool at once. */
  dropMember(member: ConnectorMember, why: string): void;
  maxFlows: number;
  draining(): boolean;
  /** Counts, records and logs every refusal. */
  observer: RefusalObserver;
  /** Milliseconds since the epoch. */
  clock(): number;
  /** Takes a flow-open token of `identity`; false when its rate is exhausted. */
  allowFlowOpen(identity: string): boolean;
}

/** The client side as the access policy sees it (absent in tests without a policy). */
export interface PolicyPeer {
  /** The access policy's answer for `service` now; undefined when no policy is loaded. */
  decidePolicy?(service: string): PolicyDecision | undefined;
  /** Registers a live flow so a policy reload can end it; returns its release. */
  trackFlow?(flow: { service: string; close(code: ErrorCode): void }): () => void;
}
