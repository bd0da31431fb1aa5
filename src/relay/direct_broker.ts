/**
 * Brokering direct (P2P) paths: a session binds one client connection, one chosen connector
 * connection and one service; candidates travel only between those two connections, and the relay
 * signs a short-lived ticket the connector checks. Messages naming a session from any other
 * connection are refused and counted (the MVP let anyone with a session id inject candidates).
 * A request or renewal passes the checks of a relayed flow open (rate, expiry, revocation, grants);
 * a ticket bounds its path by the token's expiry and the configured maximum path lifetime.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { admitOpen } from "./admission.ts";
import {
  generateSigningKeyPair,
  type Identity,
  issueTicket,
  type SigningKeyPair,
} from "../auth/mod.ts";
import type { Candidate, ControlMessageInput, ErrorCode } from "../protocol/mod.ts";
import type { RelayMetrics } from "./relay_metrics.ts";
import type { RefusalObserver } from "./refusal_observer.ts";
import type { PolicyDecision } from "../policy/mod.ts";
import { type ConnectorRegistry, poolKey } from "./registry.ts";

/** What the broker needs to know about a connection. */
export interface BrokerPeer {
  readonly connId: string;
  activeFlows: number;
  /** Services this connector registered with `direct: true`. */
  readonly directServices: Set<string>;
  send(msg: ControlMessageInput): Promise<void>;
  /** A client's access-policy answer for `service` now; undefined without a policy. */
  decidePolicy?(service: string): PolicyDecision | undefined;
}

/** An offer waiting for its connector's answer. */
interface Session {
  client: BrokerPeer;
  identity: Identity;
  connector: BrokerPeer;
  service: string;
  requestId: number;
  expiresAt: number;
}

/** A brokered path: what a renewal must match, kept while its connector connection lives. */
interface BrokeredPath {
  subject: string;
  /** The identity the path was brokered for: a policy reload re-decides its access. */
  identity: Identity;
  connector: BrokerPeer;
  service: string;
}

/** A brokered path a policy reload took away: its connector is told to close it. */
export interface WithdrawnPath {
  identity: Identity;
  connector: BrokerPeer;
  service: string;
  decision: PolicyDecision;
}

/** How long a brokered session may take to get its answer. */
export const DIRECT_SESSION_TTL_MS = 30_000;

/** Sessions open at most, so signalling cannot grow the relay without bound. */
export const MAX_DIRECT_SESSIONS = 10_000;

/** Brokered paths remembered for renewal at most; the oldest is forgotten first. */
export const MAX_BROKERED_PATHS = 100_000;

/** Options of {@link DirectBroker}. */
export interface DirectBrokerDeps {
  registry: ConnectorRegistry<BrokerPeer & { readonly conn: unknown }>;
  metrics: RelayMetrics;
  log: Logger;
  /** Longest a path lives on one ticket (`limits.direct_path_max_lifetime_ms`). */
  maxPathLifetimeMs: number;
  /** Revocation and expiry, as for a relayed flow. */
  stillValid(identity: Identity): ErrorCode | undefined;
  /** Takes a flow-open token of `identity`: a direct path is a way to open flows. */
  allowFlowOpen(identity: string): boolean;
  /** Counts, records and logs every refusal. */
  observer: RefusalObserver;
  now?: () => number;
}

type RefusalCode = "unauthorized" | "no_connector" | ErrorCode;

/** Creates and routes direct-path sessions. */
export class DirectBroker {
  readonly #sessions = new Map<string, Session>();
  readonly #paths = new Map<string, BrokeredPath>();
  /** The ticket key lives only in memory: a restarted relay issues new tickets with a new key. */
  readonly #keys: Promise<SigningKeyPair> = generateSigningKeyPair();
  constructor(readonly deps: DirectBrokerDeps) {}

  /** SPKI PEM connectors verify tickets with (sent in their WELCOME). */
  async publicKey(): Promise<string> {
    return (await this.#keys).publicPem;
  }

  #now(): number {
    return (this.deps.now ?? Date.now)();
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(id);
  }

  /**
   * The checks of a relayed flow open, in the same order: rate, expiry and revocation, grants,
   * the access policy. Returns the refusal, or undefined when `identity` may have a path to
   * `service` now.
   */
  #authorize(
    client: BrokerPeer,
    identity: Identity,
    service: string,
  ): { code: ErrorCode; rule?: string } | undefined {
    const policy = client.decidePolicy?.(service);
    const decision = admitOpen({
      identity,
      service,
      rateAllowed: this.deps.allowFlowOpen(identity.subject),
      invalid: this.deps.stillValid(identity),
      nowMs: this.#now(),
      ...(policy === undefined ? {} : { policy }),
    });
    if (decision.allow) return undefined;
    if (decision.rateLimit) this.deps.metrics.rateLimited.inc(decision.rateLimit);
    return decision.rule === undefined
      ? { code: decision.code }
      : { code: decision.code, rule: decision.rule };
  }

  /**
   * Forgets every brokered path whose access `decide` now refuses and returns them, so the relay
   * tells their connectors to close them (a policy reload). Renewals re-check anyway; this is
   * what makes the removal take effect within seconds instead of at the ticket's end.
   */
  withdraw(
    decide: (identity: Identity, service: string) => PolicyDecision | undefined,
  ): WithdrawnPath[] {
    const out: WithdrawnPath[] = [];
    for (const [id, p] of this.#paths) {
      const decision = decide(p.identity, p.service);
      if (decision === undefined || decision.allow) continue;
      this.#paths.delete(id);
      out.push({ identity: p.identity, connector: p.connector, service: p.service, decision });
    }
    return out;
  }

  /** Counts, records, logs and answers one refused request or renewal. */
  async #refuse(
    client: BrokerPeer,
    identity: Identity,
    service: string,
    requestId: number,
    code: RefusalCode,
    rule?: string,
  ): Promise<void> {
    // Only what a client could fix or an operator should see is kept and logged: a missing
    // connector is routine.
    this.deps.observer.refuse({
      code,
      ...(rule === undefined ? {} : { rule }),
      counter: this.deps.metrics.directSessions,
      identity: identity.subject,
      service,
      connId: client.connId,
      message: "Refused a direct path to {service} for {identity}: {code}",
      properties: { service, identity: identity.subject, code },
      ...(code === "no_connector" ? { record: false, level: "debug" as const } : {}),
    });
    await client.send({ type: "direct_refused", requestId, code }).catch(() => {});
  }

  /** Signs a ticket for `identity`'s path on `connector`, ending at expiry or the lifetime cap. */
  async #ticket(identity: Identity, connector: BrokerPeer, service: string, sid: string) {
    const now = this.#now();
    return await issueTicket((await this.#keys).privatePem, {
      sub: identity.subject,
      cid: connector.connId,
      svc: service,
      sid,
      tid: identity.tokenId,
      texp: identity.expiresAtMs,
      pxp: Math.min(identity.expiresAtMs, now + this.deps.maxPathLifetimeMs),
    }, now);
  }

  /** A client asks for a direct path to `service`. */
  async request(
    client: BrokerPeer,
    identity: Identity,
    msg: { requestId: number; service: string; candidates: Candidate[] },
  ): Promise<void> {
    const refuse = (code: RefusalCode, rule?: string) =>
      this.#refuse(client, identity, msg.service, msg.requestId, code, rule);
    const refusal = this.#authorize(client, identity, msg.service);
    if (refusal) return await refuse(refusal.code, refusal.rule);
    this.#sweep();
    if (this.#sessions.size >= MAX_DIRECT_SESSIONS) return await refuse("limit_exceeded");
    // A direct path carries the service's TCP and UDP flows: a member of either pool will do.
    const { registry, log } = this.deps;
    const connector = [
      ...registry.members(poolKey(msg.service, "tcp")),
      ...registry.members(poolKey(msg.service, "udp")),
    ].find((m) => m.directServices.has(msg.service));
    if (!connector) return await refuse("no_connector");
    const sessionId = randomId();
    this.#sessions.set(sessionId, {
      client,
      identity,
      connector,
      service: msg.service,
      requestId: msg.requestId,
      expiresAt: this.#now() + DIRECT_SESSION_TTL_MS,
    });
    log.debug("Brokering direct path {sessionId} for {identity} to {service}", {
      sessionId,
      identity: identity.subject,
      service: msg.service,
    });
    await connector.send({
      type: "direct_offer",
      sessionId,
      service: msg.service,
      identity: identity.subject,
      candidates: msg.candidates,
    }).catch(() => this.#sessions.delete(sessionId));
  }

  /**
   * A client asks for a fresh ticket for a path it holds: the same identity, the same connector
   * connection still registered for the service, and every check of a new request.
   */
  async renew(
    client: BrokerPeer,
    identity: Identity,
    msg: { requestId: number; sessionId: string },
  ): Promise<void> {
    const path = this.#paths.get(msg.sessionId);
    const service = path?.service ?? "?";
    const refuse = (code: RefusalCode, rule?: string) =>
      this.#refuse(client, identity, service, msg.requestId, code, rule);
    if (!path) return await refuse("no_connector");
    if (path.subject !== identity.subject) return await refuse("unauthorized");
    if (!path.connector.directServices.has(path.service)) return await refuse("no_connector");
    const refusal = this.#authorize(client, identity, path.service);
    if (refusal) return await refuse(refusal.code, refusal.rule);
    const ticket = await this.#ticket(identity, path.connector, path.service, msg.sessionId);
    this.deps.metrics.directSessions.inc("renewed");
    await client.send({ type: "direct_renewed", requestId: msg.requestId, ticket })
      .catch(() => {});
  }

  /** A connector answers an offer; only the connector the session was made with is heard. */
  async answer(
    from: BrokerPeer,
    msg:
      | {
        type: "direct_accept";
        sessionId: string;
        candidates: Candidate[];
        cert: string;
        serverName: string;
      }
      | { type: "direct_refused"; sessionId?: string; code: string },
  ): Promise<void> {
    const { metrics, log } = this.deps;
    const session = msg.sessionId ? this.#sessions.get(msg.sessionId) : undefined;
    if (!session || session.connector !== from || session.expiresAt <= this.#now()) {
      metrics.directSessions.inc("foreign_or_stale");
      log.warn("Ignored a direct-path answer for a session this connection does not hold", {
        connId: from.connId,
      });
      return;
    }
    const sessionId = msg.sessionId!;
    this.#sessions.delete(sessionId);
    if (msg.type === "direct_refused") {
      metrics.directSessions.inc("declined");
      await session.client.send({
        type: "direct_refused",
        requestId: session.requestId,
        code: "no_connector",
      })
        .catch(() => {});
      return;
    }
    // Time passed since the request: a token that expired or was revoked meanwhile gets nothing.
    const invalid = this.deps.stillValid(session.identity);
    if (invalid) {
      return await this.#refuse(
        session.client,
        session.identity,
        session.service,
        session.requestId,
        invalid,
      );
    }
    // A policy reload meanwhile may have taken the service away.
    const policy = session.client.decidePolicy?.(session.service);
    if (policy && !policy.allow) {
      return await this.#refuse(
        session.client,
        session.identity,
        session.service,
        session.requestId,
        "unauthorized",
        policy.rule ?? "no grant",
      );
    }
    const ticket = await this.#ticket(session.identity, from, session.service, sessionId);
    if (this.#paths.size >= MAX_BROKERED_PATHS) {
      this.#paths.delete(this.#paths.keys().next().value!);
    }
    this.#paths.set(sessionId, {
      subject: session.identity.subject,
      identity: session.identity,
      connector: from,
      service: session.service,
    });
    metrics.directSessions.inc("brokered");
    await session.client.send({
      type: "direct_ready",
      requestId: session.requestId,
      candidates: msg.candidates,
      cert: msg.cert,
      serverName: msg.serverName,
      ticket,
      sessionId,
    }).catch(() => {});
  }

  /** Drops every session of a connection that went away, and every path through a connector. */
  forget(peer: BrokerPeer): void {
    for (const [id, s] of this.#sessions) {
      if (s.client === peer || s.connector === peer) this.#sessions.delete(id);
    }
    // A client's paths outlive its relay connection: it may renew them from its next one.
    for (const [id, p] of this.#paths) if (p.connector === peer) this.#paths.delete(id);
  }

  /** Sessions in flight (for tests and metrics). */
  get size(): number {
    return this.#sessions.size;
  }
}

function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_");
}
