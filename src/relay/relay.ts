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
import { ALPN, ALPN_TCP, type ErrorCode, ERRORS } from "../protocol/mod.ts";
import { admitConnection, admitHandshakeRate, admitSource, type Refusal } from "./admission.ts";
import { ConnectorRegistry } from "./registry.ts";
import { DirectBroker } from "./direct_broker.ts";
import { KeyedRateLimiter } from "./token_bucket.ts";
import type { ConnectorMember } from "./flow_relay.ts";
import { PeerSession, type SessionDeps } from "./peer_session.ts";
import { RelayMetrics } from "./relay_metrics.ts";
import { RefusalLog } from "./refusal_log.ts";
import { RefusalObserver } from "./refusal_observer.ts";
import type { RefusalEvent } from "./refusal_log.ts";
import { evaluate, type Policy, type PolicyDecision, ruleLabel } from "../policy/mod.ts";
import { TcpRelayListener } from "./tcp_listener.ts";
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
  /** Sessions the relay itself closed (revoked, kicked): recorded once, not at every sweep. */
  readonly #closedByRelay = new WeakSet<PeerSession>();
  /** The revocation set at the last enforcement: what connected connectors were already told. */
  #announced = new Set<string>();
  readonly #perIdentity = new Map<string, number>();
  readonly #flowOpens: KeyedRateLimiter;
  readonly #registrations: KeyedRateLimiter;
  readonly #handshakes: KeyedRateLimiter;
  readonly #handshakesPerSource: KeyedRateLimiter;
  readonly #admitted = new WeakSet<PeerSession>();
  #endpoint: Deno.QuicEndpoint | undefined;
  #listener: Deno.QuicListener | undefined;
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
    this.#handshakes = new KeyedRateLimiter({
      perSecond: limits.handshakes_per_second,
      maxKeys: 1,
    });
    this.#handshakesPerSource = new KeyedRateLimiter({
      perSecond: limits.handshakes_per_second_per_source,
      burst: limits.handshake_burst_per_source,
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
    this.#deps = {
      registry: this.registry,
      metrics: this.metrics,
      observer: this.#observer,
      clock,
      verify: (token) => this.verifier.verify(token, clock()),
      stillValid,
      nextFlowId: () => (this.#flowIds = (this.#flowIds + 1) >>> 0),
      headerTimeoutMs: limits.hello_timeout_ms,
      openTimeoutMs: limits.flow_open_timeout_ms,
      acceptTimeoutMs: limits.flow_accept_timeout_ms,
      connectorWaitMs: limits.connector_wait_ms,
      uptimeMs: () => clock() - this.#startedAt,
      registrationGraceMs: limits.registration_grace_ms,
      dropMember: (member, why) => this.#leavePools(member.connId, why),
      helloTimeoutMs: limits.hello_timeout_ms,
      maxFlows: limits.max_flows,
      maxStreamsPerConnection: limits.max_streams_per_connection,
      queueDepth: limits.datagram_queue_depth,
      broker: this.broker,
      maxPendingOpens: limits.max_pending_opens_per_connection,
      allowFlowOpen,
      allowRegistration: (identity) => this.#registrations.take(identity, clock()),
      registrationsPerMinute: limits.registrations_per_minute_per_identity,
      draining: () => this.#draining,
      admitIdentity: (s) => this.#admit(s),
      release: (s) => this.#release(s),
      revokedTokenIds: () => [...this.verifier.revokedIds],
      decidePolicy: (identity, service, source) => this.decidePolicy(identity, service, source),
      login: deps.login,
      reenforcePolicy: () => {
        if (this.#policy) this.enforcePolicy();
      },
    };
  }

  /** The bound UDP address (port resolved when the config asked for 0). @throws before start */
  get addr(): Deno.NetAddr {
    if (!this.#endpoint) throw new Deno.errors.NotConnected("the relay has not started");
    return this.#endpoint.addr;
  }

  /**
   * Binds the QUIC endpoint and starts listening with the given certificate.
   * @throws {Deno.errors.AddrInUse} and the other bind errors of `Deno.QuicEndpoint`
   */
  start(tls: TlsMaterial): void {
    const addr = parseHostPort(this.config.listen);
    if (!addr.ok) throw new RangeError(addr.reason);
    this.#endpoint = new Deno.QuicEndpoint({
      hostname: addr.value.hostname,
      port: addr.value.port,
    });
    this.#listen(tls);
    this.#startTcp(tls);
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
    const old = this.#listener;
    old?.stop();
    this.#listen(tls);
    this.#tcp?.reloadTls(tls);
    log.info("Reloaded the relay certificate");
  }

  #listen(tls: TlsMaterial): void {
    const listener = this.#endpoint!.listen({
      alpnProtocols: [ALPN],
      cert: tls.cert,
      key: tls.key,
      maxIdleTimeout: this.config.idle_timeout_ms,
      maxConcurrentBidirectionalStreams: this.config.limits.max_streams_per_connection,
      maxConcurrentUnidirectionalStreams: 0,
    });
    this.#listener = listener;
    void this.#accept(listener);
  }

  /** Starts the TCP transport's listener at `tcp_listen` (default: the QUIC host and port). */
  #startTcp(tls: TlsMaterial): void {
    const { tcp_listen: where, limits } = this.config;
    if (where === "off") return;
    const parsed = where === undefined
      ? { ok: true as const, value: { hostname: this.addr.hostname, port: this.addr.port } }
      : parseHostPort(where);
    if (!parsed.ok) throw new RangeError(parsed.reason);
    this.#tcp = new TcpRelayListener(parsed.value, {
      admit: () => this.#admitBeforeHandshake(),
      admitLink: (source) => this.#admitSource(source),
      onLink: (link) => {
        const p = this.#runSession(link).finally(() => this.#running.delete(p));
        this.#running.add(p);
      },
      link: {
        keepAliveMs: 0,
        idleTimeoutMs: this.config.idle_timeout_ms,
        streamCredit: Math.max(1, limits.max_streams_per_connection - 1),
        maxOffers: limits.max_idle_offers_per_connection,
        offerWaitMs: limits.flow_open_timeout_ms,
        clock: this.#clock,
        onProtocolError: (code) => {
          this.metrics.protocolErrors.inc(code);
          log.warn("Closing a TCP link after malformed input: {code}", { code });
        },
      },
      preambleTimeoutMs: limits.hello_timeout_ms,
      maxPendingPerSource: limits.tcp_pending_per_source,
      metrics: this.metrics,
      log,
    });
    this.#tcp.start(tls);
    log.info("Relay TCP transport listening on {address} (ALPN {alpn})", {
      address: `${this.#tcp.addr.hostname}:${this.#tcp.addr.port}`,
      alpn: ALPN_TCP,
    });
  }

  /** Draining, connection cap and global handshake rate, before any crypto work. */
  #admitBeforeHandshake(): boolean {
    const { limits } = this.config;
    let admission = admitConnection({
      draining: this.#draining,
      sessions: this.sessions.size,
      maxConnections: limits.max_connections,
    });
    if (admission.allow) {
      const allowed = this.#handshakes.take("all", this.#clock());
      admission = admitHandshakeRate(allowed, limits.handshakes_per_second);
    }
    if (!admission.allow) this.#refuseConnection(admission, "before the handshake");
    return admission.allow;
  }

  /** The per-source handshake rate of a new connection from `source`. */
  #admitSource(source: string): boolean {
    const { handshakes_per_second_per_source: rate, handshake_burst_per_source: burst } =
      this.config.limits;
    const admission = admitSource(
      this.#handshakesPerSource.take(source, this.#clock()),
      rate,
      burst,
    );
    if (!admission.allow) {
      this.#refuseConnection(admission, "right after the handshake");
      log.debug("Closed a connection from {source}: handshakes_per_second_per_source", { source });
    }
    return admission.allow;
  }

  async #runSession(link: PeerLink): Promise<void> {
    const session = new PeerSession(link, this.#deps, log);
    this.sessions.add(session);
    await session.run();
  }

  async #accept(listener: Deno.QuicListener): Promise<void> {
    const { limits } = this.config;
    while (true) {
      let incoming: Deno.QuicIncoming;
      try {
        incoming = await listener.incoming();
      } catch {
        return; // listener stopped
      }
      // Deno 2.9.6: a pending incoming() on a stopped listener neither rejects nor stays idle; it
      // may still receive one connection. Serve that one, then let the old loop end.
      const stale = listener !== this.#listener;
      let admission = admitConnection({
        draining: this.#draining,
        sessions: this.sessions.size,
        maxConnections: limits.max_connections,
      });
      if (admission.allow) {
        // Taken only now: a draining or full relay spends no handshake tokens.
        const allowed = this.#handshakes.take("all", this.#clock());
        admission = admitHandshakeRate(allowed, limits.handshakes_per_second);
      }
      if (!admission.allow) {
        // Refused before any crypto work: the cheap answer to a handshake flood, and the only
        // limit a spoofed-source flood meets (no Retry in Deno 2.9.6).
        this.#refuseConnection(admission, "before the handshake");
        incoming.refuse();
      } else {
        const p = this.#handshake(incoming).finally(() => this.#running.delete(p));
        this.#running.add(p);
      }
      if (stale) return;
    }
  }

  async #handshake(incoming: Deno.QuicIncoming): Promise<void> {
    let conn: Deno.QuicConn;
    try {
      conn = await incoming.accept();
    } catch (e) {
      this.metrics.authFailures.inc("handshake_failed");
      log.debug("QUIC handshake failed: {error}", { error: String(e) });
      return;
    }
    // Deno 2.9.6 cannot read a QuicIncoming's address without losing it (each getter takes the
    // attempt out of its resource, which refuses it), nor send a Retry. So the per-source limit acts
    // only once a handshake completes (close at once, before any stream is read) and never sees a
    // source that does not answer (spoofed): against those only handshakes_per_second counts
    // (bench/spoofed_flood.ts).
    if (!this.#admitSource(conn.remoteAddr.hostname)) {
      conn.close({ closeCode: ERRORS.limit_exceeded.wire, reason: "limit_exceeded" });
      return;
    }
    await this.#runSession(conn);
  }

  /** Reports a connection refused before it could say HELLO (no address at info: I1), throttled. */
  #refuseConnection(refusal: Refusal, stage: string): void {
    const { code, why: limit, rateLimit } = refusal;
    this.#observer.refuse({
      code,
      ...(rateLimit ? { rateLimit } : { counter: this.metrics.authFailures }),
      message: "Refused {count} connection(s) {stage}: {code} ({limit})",
      properties: { stage, code, limit },
      throttle: `${code} ${limit}`,
    });
  }

  #admit(session: PeerSession): boolean {
    const n = this.#perIdentity.get(session.identity) ?? 0;
    if (n >= this.config.limits.max_connections_per_identity) return false;
    this.#perIdentity.set(session.identity, n + 1);
    this.#admitted.add(session);
    return true;
  }

  #release(session: PeerSession): void {
    this.sessions.delete(session);
    if (this.#admitted.delete(session)) {
      const n = (this.#perIdentity.get(session.identity) ?? 1) - 1;
      if (n <= 0) this.#perIdentity.delete(session.identity);
      else this.#perIdentity.set(session.identity, n);
    }
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
    const fresh = [...this.verifier.revokedIds].filter((id) => !this.#announced.has(id));
    this.#announced = new Set(this.verifier.revokedIds);
    if (fresh.length > 0) {
      for (const s of this.sessions) {
        if (s.role === "connector" && s.directServices.size > 0) {
          void s.sendRevocations({ tokenIds: fresh });
        }
      }
    }
    let n = 0;
    for (const s of this.sessions) {
      if (s.tokenId && this.verifier.isRevoked(s.tokenId)) {
        if (this.#closedByRelay.has(s)) continue;
        this.#closedByRelay.add(s);
        this.#observer.refuse({
          code: "token_revoked",
          identity: s.identity,
          connId: s.connId,
          message: "Closing connection {connId} of {identity}: token revoked",
          properties: { connId: s.connId, identity: s.identity },
        });
        s.close("token_revoked");
        n++;
      }
    }
    return n;
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
    let flows = 0;
    for (const s of this.sessions) {
      if (s.role !== "client" || s.liveFlows.size === 0) continue;
      for (const flow of [...s.liveFlows]) {
        const d = s.decidePolicy(flow.service);
        if (d === undefined || d.allow) continue;
        s.liveFlows.delete(flow);
        this.#observer.refuse({
          code: "unauthorized",
          counter: this.metrics.flowsRefused,
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
    for (const s of this.sessions) if (s.role === "client") sources.set(s.identity, s.source);
    const withdrawn = this.broker.withdraw((identity, service) =>
      this.decidePolicy(identity, service, sources.get(identity.subject))
    );
    for (const p of withdrawn) {
      this.#observer.refuse({
        code: "unauthorized",
        counter: this.metrics.directSessions,
        label: "policy_withdrawn",
        identity: p.identity.subject,
        service: p.service,
        rule: ruleLabel(p.decision),
        message: "Closing direct paths of {identity} to {service}: the policy no longer allows it",
        properties: { identity: p.identity.subject, service: p.service },
      });
      const connector = [...this.sessions].find((s) => s === p.connector);
      void connector?.sendRevocations({ identity: p.identity.subject, service: p.service });
    }
    return { flows, paths: withdrawn.length };
  }

  /** Closes one connection with "kicked" (an operator's decision); false when no such connection. */
  kick(connId: string): boolean {
    for (const s of this.sessions) {
      if (s.connId !== connId || this.#closedByRelay.has(s)) continue;
      this.#closedByRelay.add(s);
      this.#observer.refuse({
        code: "kicked",
        identity: s.identity,
        connId,
        message: "Closing connection {connId} of {identity}: kicked by an operator",
        properties: { connId, identity: s.identity },
      });
      s.close("kicked");
      this.#kickDirect(s.identity);
      return true;
    }
    return false;
  }

  /** True once shutdown began: new connections and flows are refused with "going away". */
  get draining(): boolean {
    return this.#draining;
  }

  /** True while a QUIC listener accepts connections (started and not shutting down). */
  get listening(): boolean {
    return this.#listener !== undefined && !this.#draining;
  }

  /** Tells every direct-capable connector to drop direct paths of `identity` (they bypass us). */
  #kickDirect(identity: string): void {
    for (const s of this.sessions) {
      if (s.role === "connector" && s.directServices.size > 0) void s.sendRevocations({ identity });
    }
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

  async #shutdownOnce(drainMs: number): Promise<void> {
    this.#draining = true;
    clearInterval(this.#observedSweep);
    clearInterval(this.#policySweep);
    this.#listener?.stop();
    this.#tcp?.stop();
    log.info("Draining {flows} active flows for up to {drainMs} ms", {
      flows: this.metrics.activeFlows,
      drainMs,
    });
    const deadline = this.#clock() + drainMs;
    while (this.metrics.activeFlows > 0 && this.#clock() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const s of this.sessions) s.close("going_away");
    await Promise.race([Promise.all(this.#running), new Promise((r) => setTimeout(r, 2_000))]);
    this.#endpoint?.close({ closeCode: 0, reason: "going_away" });
    log.info("Relay stopped");
  }
}
