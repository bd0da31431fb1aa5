/**
 * The relay: owns the QUIC endpoint and listener (bound in `start()`), the sessions, the connector
 * registry and the token verifier; accepts connections through the pure decisions of admission.ts,
 * reports every refusal through one RefusalObserver, drains on shutdown, reloads on SIGHUP. Time
 * comes from one injected clock.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Identity, TokenVerifier } from "../auth/mod.ts";
import { parseHostPort } from "../protocol/address.ts";
import type { IntermediateConfig } from "../config/schema.ts";
import { ALPN, type ErrorCode } from "../protocol/mod.ts";
import { ConnectionGate } from "./connection_gate.ts";
import { ConnectorRegistry } from "./registry.ts";
import { DirectBroker } from "./direct_broker.ts";
import { KeyedRateLimiter } from "./token_bucket.ts";
import type { ConnectorMember } from "./flow_deps.ts";
import { PeerSession, type SessionDeps } from "./peer_session.ts";
import { sessionDeps } from "./session_deps.ts";
import { RelayMetrics } from "./relay_metrics.ts";
import { RefusalLog } from "./refusal_log.ts";
import { RefusalObserver } from "./refusal_observer.ts";
import type { RefusalEvent } from "./refusal_log.ts";
import { evaluate, type Policy, type PolicyDecision } from "../policy/mod.ts";
import {
  closeRevoked,
  endWithdrawn,
  type EnforcementScope,
  kickConnection,
} from "./enforcement.ts";
import type { TcpRelayListener } from "./tcp_listener.ts";
import { startTcpListener } from "./tcp_start.ts";
import { QuicRelayListener } from "./quic_listener.ts";
import type { PeerLink } from "../transport/mod.ts";

const log = getLogger(["ztna", "relay"]);

/**
 * How often the relay compares each peer's address with the one it last told that peer (QAD):
 * after a NAT rebinding the peer learns its new address within this time. Reading an address is a
 * cheap synchronous call, so 10,000 peers cost a few milliseconds per sweep.
 */
export const OBSERVED_CHECK_MS = 2_000;

/**
 * How often live flows and brokered direct paths are decided again under the loaded policy, besides
 * at each reload: a rule's time window ends without a reload.
 */
export const POLICY_SWEEP_MS = 30_000;

/** TLS material as PEM text. */
export interface TlsMaterial {
  cert: string;
  key: string;
}

/** What a relay is given besides its config. */
export interface RelayDeps {
  verifier: TokenVerifier;
  /** Milliseconds since the epoch. @default {Date.now} */
  clock?: () => number;
  /** @default {a fresh RelayMetrics} */
  metrics?: RelayMetrics;
  /** Receives refusals an access-policy rule decided, for the audit log. @default {none} */
  audit?: (event: RefusalEvent) => void;
  /** Single sign-on (`[intermediate.oidc]`); without it a HELLO with an ID token is refused. */
  login?: SessionDeps["login"];
}

/** The running relay. */
export class Relay {
  readonly metrics: RelayMetrics;
  readonly registry = new ConnectorRegistry<ConnectorMember>();
  readonly sessions = new Set<PeerSession>();
  readonly broker: DirectBroker;
  /** The most recent refusals with who and what, for the admin dashboard. */
  readonly refusals = new RefusalLog();
  readonly verifier: TokenVerifier;
  readonly #clock: () => number;
  readonly #observer: RefusalObserver;
  /** What revocation, policy and kick enforcement work on (enforcement.ts). */
  readonly #scope: EnforcementScope;
  /** The revocation set at the last enforcement: what connected connectors were already told. */
  #announced = new Set<string>();
  readonly #flowOpens: KeyedRateLimiter;
  readonly #registrations: KeyedRateLimiter;
  readonly #gate: ConnectionGate;
  /** The QUIC endpoint and listener (`listen`), bound in {@link start}. */
  #quic: QuicRelayListener | undefined;
  /** The TLS-over-TCP listener (`tcp_listen`), unless "off". */
  #tcp: TcpRelayListener | undefined;
  #observedSweep: ReturnType<typeof setInterval> | undefined;
  #policySweep: ReturnType<typeof setInterval> | undefined;
  /** The access policy in force; undefined without `policy_file` (token grants alone decide). */
  #policy: Policy | undefined;
  #draining = false;
  #flowIds = 0;
  /** When this relay was built: connectors re-home within a grace after it (admission.ts). */
  readonly #startedAt: number;
  readonly #deps: SessionDeps;
  /** Sessions on the TCP transport (the QUIC listener keeps its own). */
  readonly #running = new Set<Promise<void>>();
  #shutdown: Promise<void> | undefined;

  /** Builds the relay's state; nothing is bound until {@link start}. */
  constructor(readonly config: IntermediateConfig, deps: RelayDeps) {
    this.verifier = deps.verifier;
    this.metrics = deps.metrics ?? new RelayMetrics();
    const clock = this.#clock = deps.clock ?? Date.now;
    this.#startedAt = clock();
    this.#observer = new RefusalObserver({
      metrics: this.metrics,
      refusals: this.refusals,
      log,
      clock,
      ...(deps.audit ? { audit: deps.audit } : {}),
    });
    const limits = config.limits;
    this.#flowOpens = new KeyedRateLimiter({
      perSecond: limits.flow_opens_per_second_per_identity,
      burst: limits.flow_open_burst_per_identity,
    });
    this.#registrations = new KeyedRateLimiter({
      perSecond: limits.registrations_per_minute_per_identity / 60,
      burst: limits.registrations_per_minute_per_identity,
    });
    this.#gate = new ConnectionGate({
      limits,
      draining: () => this.#draining,
      sessions: () => this.sessions.size,
      clock,
      observer: this.#observer,
      metrics: this.metrics,
      log,
    });
    const allowFlowOpen = (identity: string) => this.#flowOpens.take(identity, clock());
    const stillValid = (identity: Identity) => this.#stillValid(identity);
    this.broker = new DirectBroker({
      registry: this.registry,
      metrics: this.metrics,
      log,
      maxPathLifetimeMs: limits.direct_path_max_lifetime_ms,
      stillValid,
      allowFlowOpen,
      observer: this.#observer,
      now: clock,
    });
    this.#scope = {
      sessions: this.sessions,
      broker: this.broker,
      metrics: this.metrics,
      observer: this.#observer,
      closedByRelay: new WeakSet(),
    };
    this.#deps = sessionDeps(limits, {
      registry: this.registry,
      metrics: this.metrics,
      observer: this.#observer,
      broker: this.broker,
      clock,
      verify: (token) => this.verifier.verify(token, clock()),
      stillValid,
      allowFlowOpen,
      allowRegistration: (identity) => this.#registrations.take(identity, clock()),
      nextFlowId: () => (this.#flowIds = (this.#flowIds + 1) >>> 0),
      uptimeMs: () => clock() - this.#startedAt,
      dropMember: (member, why) => this.#leavePools(member.connId, why),
      draining: () => this.#draining,
      admitIdentity: (s) => this.#gate.admitIdentity(s, s.identity),
      release: (s) => this.#release(s),
      revokedTokenIds: () => [...this.verifier.revokedIds],
      decidePolicy: (identity, service, source) => this.decidePolicy(identity, service, source),
      login: deps.login,
      reenforcePolicy: () => {
        if (this.#policy) this.enforcePolicy();
      },
    });
  }

  /** The bound UDP address (port resolved when the config asked for 0). @throws before start */
  get addr(): Deno.NetAddr {
    if (!this.#quic) throw new Deno.errors.NotConnected("the relay has not started");
    return this.#quic.addr;
  }

  /**
   * Binds the QUIC endpoint and starts listening with the given certificate.
   * @throws {Deno.errors.AddrInUse} and the other bind errors of `Deno.QuicEndpoint`
   */
  start(tls: TlsMaterial): void {
    const addr = parseHostPort(this.config.listen);
    if (!addr.ok) throw new RangeError(addr.reason);
    this.#quic = new QuicRelayListener(addr.value, {
      admit: () => this.#gate.beforeHandshake(),
      admitLink: (source) => this.#gate.afterHandshake(source),
      serve: (link) => this.#runSession(link),
      idleTimeoutMs: this.config.idle_timeout_ms,
      maxStreamsPerConnection: this.config.limits.max_streams_per_connection,
      metrics: this.metrics,
      log,
    });
    this.#quic.start(tls);
    this.#tcp = startTcpListener(this.config, tls, {
      quicAddr: this.#quic.addr,
      admit: () => this.#gate.beforeHandshake(),
      admitLink: (source) => this.#gate.afterHandshake(source),
      onLink: (link) => {
        const p = this.#runSession(link).finally(() => this.#running.delete(p));
        this.#running.add(p);
      },
      clock: this.#clock,
      metrics: this.metrics,
      log,
    });
    this.#observedSweep = setInterval(() => {
      for (const s of this.sessions) void s.checkObserved();
    }, OBSERVED_CHECK_MS);
    this.#policySweep = setInterval(() => {
      if (this.#policy) this.enforcePolicy();
    }, POLICY_SWEEP_MS);
    log.info("Relay listening on {address} (ALPN {alpn})", {
      address: `${this.addr.hostname}:${this.addr.port}`,
      alpn: ALPN,
    });
  }

  /** The bound TCP address of the TCP transport; undefined when `tcp_listen = "off"`. */
  get tcpAddr(): Deno.NetAddr | undefined {
    return this.#tcp?.addr;
  }

  /** Swaps the certificate: a new listener on the same endpoint; established connections stay. */
  reloadTls(tls: TlsMaterial): void {
    this.#quic?.reloadTls(tls);
    this.#tcp?.reloadTls(tls);
    log.info("Reloaded the relay certificate");
  }

  async #runSession(link: PeerLink): Promise<void> {
    const session = new PeerSession(link, this.#deps, log);
    this.sessions.add(session);
    await session.run();
  }

  #release(session: PeerSession): void {
    this.sessions.delete(session);
    this.#gate.release(session);
    this.#leavePools(session.connId, "its connection ended");
  }

  /**
   * Removes a connector connection from every pool (once: later calls find nothing). Called when
   * its session ends, and earlier when a flow finds its connection unable to take a stream.
   */
  #leavePools(connId: string, why: string): void {
    for (const service of this.registry.removeConnection(connId)) {
      log.info("Connector {connId} left the pool of {service}: {why}", { connId, service, why });
    }
  }

  #stillValid(identity: Identity): ErrorCode | undefined {
    if (this.verifier.isRevoked(identity.tokenId)) return "token_revoked";
    if (identity.expiresAtMs <= this.#clock()) return "token_expired";
    return undefined;
  }

  /**
   * Closes every live connection whose token is now revoked, and tells every direct-capable
   * connector the newly revoked token ids (their clients' direct paths bypass the relay, and the
   * client need not be connected here at all); returns how many relay connections were closed.
   */
  enforceRevocations(): number {
    const { announced, closed } = closeRevoked(this.#scope, this.verifier, this.#announced);
    this.#announced = announced;
    return closed;
  }

  /** The access policy in force, or undefined when token grants alone decide. */
  get policy(): Policy | undefined {
    return this.#policy;
  }

  /**
   * Puts `policy` in force (undefined: token grants alone decide) and ends at once what it no
   * longer allows (see {@link enforcePolicy}); returns what was ended.
   */
  setPolicy(policy: Policy | undefined): { flows: number; paths: number } {
    this.#policy = policy;
    return this.enforcePolicy();
  }

  /** The policy's answer for `identity` and `service` now; undefined without a policy. */
  decidePolicy(
    identity: Identity,
    service: string,
    source?: string,
  ): PolicyDecision | undefined {
    if (!this.#policy) return undefined;
    return evaluate(
      this.#policy,
      { identity: identity.subject, groups: identity.groups ?? [] },
      service,
      { nowMs: this.#clock(), ...(source === undefined ? {} : { source }) },
    );
  }

  /**
   * Decides every live relayed flow and every brokered direct path again under the policy in
   * force, and ends those it refuses: relayed flows are reset (both streams), direct paths are
   * closed by their connector (`direct_revoke {identity, service}`). Only the affected flows end:
   * the client's session stays, so access the policy gives back later needs no reconnect, and
   * flows to services still allowed go on. Each ended flow or path is a refusal naming its rule.
   */
  enforcePolicy(): { flows: number; paths: number } {
    return endWithdrawn(
      this.#scope,
      (identity, service, source) => this.decidePolicy(identity, service, source),
    );
  }

  /** Closes one connection with "kicked" (an operator's decision); false when no such connection. */
  kick(connId: string): boolean {
    return kickConnection(this.#scope, connId);
  }

  /** True once shutdown began: new connections and flows are refused with "going away". */
  get draining(): boolean {
    return this.#draining;
  }

  /** True while a QUIC listener accepts connections (started and not shutting down). */
  get listening(): boolean {
    return (this.#quic?.listening ?? false) && !this.#draining;
  }

  /**
   * Stops accepting, lets running flows finish for up to `drainMs`, then closes every connection with
   * "going away" so peers reconnect elsewhere at once.
   */
  shutdown(drainMs: number): Promise<void> {
    // Idempotent: the runner drains on stop, and its teardown stack calls this again.
    this.#shutdown ??= this.#shutdownOnce(drainMs);
    return this.#shutdown;
  }

  /** Resolves when no session has a flow left, or after `drainMs`. */
  async #flowsEnded(drainMs: number): Promise<void> {
    const timeout = AbortSignal.timeout(drainMs);
    const timedOut = new Promise<void>((r) => timeout.addEventListener("abort", () => r()));
    while (!timeout.aborted) {
      const running = [...this.sessions].map((s) => s.flowsSettled()).filter((p) => p !== null);
      if (running.length === 0) return;
      // Flows admitted meanwhile (before the drain began) are waited for on the next round.
      await Promise.race([Promise.all(running), timedOut]);
    }
  }

  async #shutdownOnce(drainMs: number): Promise<void> {
    this.#draining = true;
    clearInterval(this.#observedSweep);
    clearInterval(this.#policySweep);
    this.#quic?.stop();
    this.#tcp?.stop();
    log.info("Draining {flows} active flows for up to {drainMs} ms", {
      flows: this.metrics.activeFlows,
      drainMs,
    });
    await this.#flowsEnded(drainMs);
    for (const s of this.sessions) s.close("going_away");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tcpSessions = Promise.race([
      Promise.all(this.#running),
      new Promise((r) => timer = setTimeout(r, 2_000)),
    ]);
    await Promise.all([tcpSessions, this.#quic?.close(2_000)]);
    clearTimeout(timer);
    log.info("Relay stopped");
  }
}
