/**
 * Brokering direct (P2P) paths: a session binds one client connection, one chosen connector
 * connection and one service; candidates travel only between those two connections, and the relay
 * signs a short-lived ticket the connector checks. Messages naming a session from any other
 * connection are refused and counted (the MVP let anyone with a session id inject candidates).
 * @module
 */
import type { Logger } from "@logtape/logtape";
import {
  authorizeFlow,
  generateSigningKeyPair,
  type Identity,
  issueTicket,
  type SigningKeyPair,
} from "../auth/mod.ts";
import type { Candidate, ControlMessageInput } from "../protocol/mod.ts";
import type { RelayMetrics } from "./relay_metrics.ts";
import type { ConnectorRegistry } from "./registry.ts";
import { poolKey } from "./flow_relay.ts";

/** What the broker needs to know about a connection. */
export interface BrokerPeer {
  readonly connId: string;
  activeFlows: number;
  /** Services this connector registered with `direct: true`. */
  readonly directServices: Set<string>;
  send(msg: ControlMessageInput): Promise<void>;
}

interface Session {
  client: BrokerPeer;
  clientIdentity: string;
  connector: BrokerPeer;
  service: string;
  requestId: number;
  expiresAt: number;
}

/** How long a brokered session may take to get its answer. */
export const DIRECT_SESSION_TTL_MS = 30_000;

/** Sessions open at most, so signalling cannot grow the relay without bound. */
export const MAX_DIRECT_SESSIONS = 10_000;

/** Options of {@link DirectBroker}. */
export interface DirectBrokerDeps {
  registry: ConnectorRegistry<BrokerPeer & { readonly conn: unknown }>;
  metrics: RelayMetrics;
  log: Logger;
  now?: () => number;
}

/** Creates and routes direct-path sessions. */
export class DirectBroker {
  readonly #sessions = new Map<string, Session>();
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

  /** A client asks for a direct path to `service`. */
  async request(
    client: BrokerPeer,
    identity: Identity,
    msg: { requestId: number; service: string; candidates: Candidate[] },
  ): Promise<void> {
    const { metrics, log } = this.deps;
    const refuse = async (code: "unauthorized" | "no_connector" | "limit_exceeded") => {
      metrics.directSessions.inc(code);
      await client.send({ type: "direct_refused", requestId: msg.requestId, code }).catch(() => {});
    };
    const decision = authorizeFlow(identity, msg.service);
    if (!decision.allow) return await refuse("unauthorized");
    this.#sweep();
    if (this.#sessions.size >= MAX_DIRECT_SESSIONS) return await refuse("limit_exceeded");
    // A direct path carries the service's TCP and UDP flows: a member of either pool will do.
    const { registry } = this.deps;
    const connector = [
      ...registry.members(poolKey(msg.service, "tcp")),
      ...registry.members(poolKey(msg.service, "udp")),
    ].find((m) => m.directServices.has(msg.service));
    if (!connector) return await refuse("no_connector");
    const sessionId = randomId();
    this.#sessions.set(sessionId, {
      client,
      clientIdentity: identity.subject,
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
    this.#sessions.delete(msg.sessionId!);
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
    const ticket = await issueTicket((await this.#keys).privatePem, {
      sub: session.clientIdentity,
      cid: session.connector.connId,
      svc: session.service,
      sid: msg.sessionId!,
    });
    metrics.directSessions.inc("brokered");
    await session.client.send({
      type: "direct_ready",
      requestId: session.requestId,
      candidates: msg.candidates,
      cert: msg.cert,
      serverName: msg.serverName,
      ticket,
    }).catch(() => {});
  }

  /** Drops every session of a connection that went away. */
  forget(peer: BrokerPeer): void {
    for (const [id, s] of this.#sessions) {
      if (s.client === peer || s.connector === peer) this.#sessions.delete(id);
    }
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
