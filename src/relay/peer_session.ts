/**
 * One peer connection at the relay: HELLO within a deadline, token and role checks, the WELCOME
 * answer with the observed address (QAD), then the role's loop — registrations for a connector,
 * flow streams for a client. Nothing but the control stream is processed before authentication.
 * @module
 */
import { serveRegistrations } from "./connector_registrations.ts";
import { serveClientControl } from "./client_control.ts";
import { checkHello } from "./hello_check.ts";
import { refuseFlowStream, refuseStream } from "./stream_refusal.ts";
import { deadline, TIMED_OUT } from "../runtime/mod.ts";
import type { Logger } from "@logtape/logtape";
import type { Identity } from "../auth/mod.ts";
import {
  type ControlMessageInput,
  type ErrorCode,
  ERRORS,
  FLOW_ACCEPT_VERSION,
  type Hello,
  MAX_CONTROL_MESSAGE,
  MAX_REVOKE_BATCH,
  ZtnaError,
} from "../protocol/mod.ts";
import { type ConnectorMember, type FlowDeps, relayClientFlow } from "./flow_relay.ts";
import { type DatagramDeps, type DatagramPeer, pumpDatagrams } from "./udp_links.ts";
import type { DirectBroker } from "./direct_broker.ts";
import { LogThrottle } from "./log_throttle.ts";
import type { LoginExchange } from "./login_exchange.ts";
import type { PolicyDecision } from "../policy/mod.ts";
import { type ByteStream, ControlChannel, linkTransport, type PeerLink } from "../transport/mod.ts";
import { PeerCounters } from "./peer_counters.ts";

/** What a session needs from the relay that owns it. */
export interface SessionDeps extends FlowDeps, DatagramDeps {
  broker: DirectBroker;
  verify(
    token: string,
  ): Promise<{ ok: true; identity: Identity } | { ok: false; code: ErrorCode; why: string }>;
  helloTimeoutMs: number;
  maxStreamsPerConnection: number;
  maxPendingOpens: number;
  /** Takes a registration token of `identity`; false when its rate is exhausted. */
  allowRegistration(identity: string): boolean;
  /** `limits.registrations_per_minute_per_identity`, for refusal reasons. */
  registrationsPerMinute: number;
  /** Reserves a connection slot for an identity; false when its cap is reached. */
  admitIdentity(session: PeerSession): boolean;
  /** Called once when the session ends. */
  release(session: PeerSession): void;
  /** The whole revocation set, replayed to a connector when it registers its first direct service. */
  revokedTokenIds(): string[];
  /**
   * Verifies an ID token and signs a ztna token for its person (`[intermediate.oidc]`); undefined
   * when single sign-on is off. `sameSubject`: a refresh must be for the session's own person.
   */
  login: LoginExchange["exchange"] | undefined;
  /** Decides live flows again under the policy (a refreshed login may bring other groups). */
  reenforcePolicy(): void;
  /** The access policy's answer, or undefined when the relay runs without a policy file. */
  decidePolicy(
    identity: Identity,
    service: string,
    source: string | undefined,
  ): PolicyDecision | undefined;
}

/** A relayed flow as the policy enforcement sees it: its service, and how to end it. */
export interface LiveFlow {
  readonly service: string;
  close(code: ErrorCode): void;
}

/** A peer connection from accept to close. */
export class PeerSession implements ConnectorMember {
  readonly connId: string;
  activeFlows = 0;
  suspect = false;
  /** The protocol version agreed in WELCOME: the highest both sides speak. */
  version = 2;

  /** A connector of protocol 3 or later answers each FLOW with ACCEPT (member_open.ts). */
  get sendsAccept(): boolean {
    return this.version >= FLOW_ACCEPT_VERSION;
  }
  identity = "";
  role: "client" | "connector" | undefined;
  tokenId: string | undefined;
  readonly services = new Set<string>();
  readonly counters = new PeerCounters();
  readonly udpFlows = new Map<number, DatagramPeer>();
  readonly directServices = new Set<string>();
  /** Path the client reports per service (direct or relay). */
  readonly paths = new Map<string, "direct" | "relay">();
  /** This client's relayed flows past admission, so a policy reload can end the affected ones. */
  readonly liveFlows = new Set<LiveFlow>();
  #control: ControlChannel | undefined;
  #authenticated = false;
  /** When the QUIC handshake completed (ms since epoch). */
  readonly connectedAt: number;
  #who: Identity | undefined;
  /** `host:port` this peer was last told it is observed at (QAD). */
  #observed: string | undefined;
  #closed = false;
  #log: Logger;
  /** The token the relay issued for this session's login (HELLO with `id_token`), for WELCOME. */
  #issuedToken: string | undefined;
  #expiry: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly conn: PeerLink, readonly deps: SessionDeps, log: Logger) {
    this.connId = crypto.randomUUID().slice(0, 8);
    this.connectedAt = deps.clock();
    this.#log = log.with({ connId: this.connId });
  }

  /** The peer's address as the relay sees it now (for source-network conditions); never throws. */
  get source(): string | undefined {
    try {
      return this.conn.remoteAddr.hostname;
    } catch {
      return undefined;
    }
  }

  /** The verified identity, once HELLO succeeded. */
  get who(): Identity | undefined {
    return this.#who;
  }

  /** True once WELCOME went out: from then on the relay may send this peer other messages. */
  get welcomed(): boolean {
    return this.#welcomed;
  }

  #welcomed = false;

  /** The access policy's answer for this peer and `service` now (undefined: no policy loaded). */
  decidePolicy(service: string): PolicyDecision | undefined {
    return this.#who ? this.deps.decidePolicy(this.#who, service, this.source) : undefined;
  }

  /** Registers a flow past admission; returns the function that forgets it when it ends. */
  trackFlow(flow: LiveFlow): () => void {
    this.liveFlows.add(flow);
    return () => this.liveFlows.delete(flow);
  }

  /** Sends a control message to this peer. @throws when the connection is gone */
  async send(msg: ControlMessageInput): Promise<void> {
    if (!this.#control) throw new ZtnaError("internal", "no control stream yet");
    await this.#control.send(msg);
  }

  /**
   * Tells this connector to close the direct paths of an identity (kicked) or of token ids (revoked,
   * in batches of {@link MAX_REVOKE_BATCH}). Never throws: when this connection is gone, the
   * connector's next one gets the whole set again at its first direct registration.
   */
  async sendRevocations(
    what: { identity: string; service?: string } | { tokenIds: readonly string[] },
  ): Promise<void> {
    try {
      if ("identity" in what) {
        return await this.send({
          type: "direct_revoke",
          identity: what.identity,
          ...(what.service === undefined ? {} : { service: what.service }),
        });
      }
      for (let i = 0; i < what.tokenIds.length; i += MAX_REVOKE_BATCH) {
        const tokenIds = what.tokenIds.slice(i, i + MAX_REVOKE_BATCH);
        await this.send({ type: "direct_revoke", tokenIds });
      }
    } catch { /* connection gone: its next connection gets the whole set again */ }
  }

  /**
   * Tells the peer its new address when QUIC migrated the connection (a NAT rebinding or a network
   * change): its next direct-path candidates must use it. Never throws.
   */
  async checkObserved(): Promise<void> {
    if (!this.#observed || this.#closed) return;
    let remote: Deno.NetAddr;
    try {
      remote = this.conn.remoteAddr;
    } catch {
      return; // closing
    }
    const now = `${remote.hostname}:${remote.port}`;
    if (now === this.#observed) return;
    this.#log.debug("Peer {connId} moved from {before} to {peer}", {
      connId: this.connId,
      before: this.#observed,
      peer: now,
    });
    this.#observed = now;
    await this.send({ type: "observed", hostname: remote.hostname, port: remote.port })
      .catch(() => {});
  }

  /** Closes the connection with a code from the error table; idempotent. */
  close(code: ErrorCode | "ok", reason?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close({ closeCode: code === "ok" ? 0 : ERRORS[code].wire, reason: reason ?? code });
    } catch { /* already closed by the peer */ }
  }

  /** Runs the session to its end; never throws. */
  async run(): Promise<void> {
    const streams = this.conn.incomingBidirectionalStreams.getReader();
    let pump: Promise<void> | undefined;
    const datagrams = pumpDatagrams(this, () => this.#authenticated, this.deps);
    try {
      const first = await deadline(streams.read(), this.deps.helloTimeoutMs);
      if (first === TIMED_OUT) return this.#refuse("hello_timeout", "no control stream in time");
      if (first.done) return;
      // Every later stream goes through one pump: refused until HELLO succeeds, then handed over.
      pump = this.#pumpStreams(streams);
      const control = new ControlChannel(first.value);
      this.#control = control;
      const hello = await deadline(control.next(), this.deps.helloTimeoutMs);
      if (hello === TIMED_OUT) return this.#refuse("hello_timeout", "no HELLO in time");
      if (hello === null || hello.type !== "hello") {
        return this.#refuse("unauthenticated", "first message is not HELLO", control);
      }
      const identity = await this.#authenticate(hello, control);
      if (!identity) return;
      this.holdToken(identity);
      try {
        if (identity.role === "connector") {
          this.#onStream = (s) => refuseStream(s, "connector_stream", this.deps.metrics);
          await this.#welcome(control, identity);
          await serveRegistrations(this, control, this.#who!, this.#log);
        } else {
          this.#onStream = (s) => this.#acceptFlowStream(s, identity);
          await this.#welcome(control, identity);
          await serveClientControl(this, control, identity, this.#log);
        }
      } finally {
        clearTimeout(this.#expiry);
      }
    } catch (e) {
      const code = e instanceof ZtnaError ? e.code : undefined;
      if (code) {
        this.deps.metrics.protocolErrors.inc(code);
        this.#log.warn("Closing connection after malformed input: {code}", { code });
        this.close(code);
      } else {
        this.#log.debug("Connection ended: {error}", { error: String(e) });
      }
    } finally {
      this.close("ok");
      await pump;
      await datagrams;
      await Promise.all(this.#flows);
      this.deps.broker.forget(this);
      this.deps.release(this);
    }
  }

  #onStream: ((s: ByteStream) => void) | undefined;
  readonly #flows = new Set<Promise<void>>();

  /** Settles when the flows this session carries now have ended; null when it carries none. */
  flowsSettled(): Promise<unknown> | null {
    return this.#flows.size === 0 ? null : Promise.all(this.#flows);
  }
  /** Limit refusals of this connection can come fast: one line per limit and 10 s, with the count. */
  readonly #limitLines = new LogThrottle({ maxKeys: 4 });

  async #pumpStreams(
    streams: ReadableStreamDefaultReader<ByteStream>,
  ): Promise<void> {
    while (true) {
      const next = await streams.read().catch(() => ({ done: true as const, value: undefined }));
      if (next.done) return;
      if (this.#onStream) this.#onStream(next.value);
      else refuseStream(next.value, "before_hello", this.deps.metrics);
    }
  }

  /** A client's flow stream: refused at the stream or pending-open limit, else relayed. */
  #acceptFlowStream(s: ByteStream, identity: Identity): void {
    const { maxStreamsPerConnection: maxStreams, maxPendingOpens } = this.deps;
    const refuse = { observer: this.deps.observer, metrics: this.deps.metrics, log: this.#log };
    // A TCP client's spare STREAM connections hold stream credit before they speak.
    if (this.#flows.size + (this.conn.parkedStreams ?? 0) >= maxStreams) {
      const limit = `max_streams_per_connection = ${maxStreams}`;
      return refuseFlowStream(s, { reason: "limit_exceeded", limit, connId: this.connId }, refuse);
    }
    if (this.counters.pendingOpens >= maxPendingOpens) {
      const limit = `max_pending_opens_per_connection = ${maxPendingOpens}`;
      const reason = "pending_opens";
      return refuseFlowStream(
        s,
        { reason, limit, connId: this.connId, pendingOpens: true },
        refuse,
      );
    }
    const p = relayClientFlow(s, identity, this, this.deps, this.#log).finally(() =>
      this.#flows.delete(p)
    );
    this.#flows.add(p);
    // QUIC gives the client credit for maxStreams streams, the control stream one of them: from
    // here its next flow waits for a free stream, which the relay never sees.
    if (this.#flows.size === maxStreams - 1) {
      this.deps.metrics.capsReached.inc("streams_per_connection");
      const limit = `max_streams_per_connection = ${maxStreams}`;
      if (this.#limitLines.hit(limit, this.deps.clock()) > 0) {
        this.#log.info("Client uses all its streams ({limit}): its next flows wait", { limit });
      }
    }
  }

  async #refuse(code: ErrorCode, why: string, control?: ControlChannel): Promise<void> {
    this.deps.observer.refuse({
      code,
      counter: this.deps.metrics.authFailures,
      connId: this.connId,
      ...(this.identity ? { identity: this.identity } : {}),
      message: "Refused connection: {code} ({why})",
      properties: { code, why },
      logger: this.#log,
    });
    if (control) await control.send({ type: "refused", code }).catch(() => {});
    this.close(code);
  }

  async #authenticate(hello: Hello, control: ControlChannel): Promise<Identity | undefined> {
    const outcome = await checkHello(hello, this.deps, this.#log);
    if (!outcome.ok) {
      if (outcome.version !== undefined) this.version = outcome.version;
      await this.#refuse(outcome.code, outcome.why, control);
      return;
    }
    const { identity } = outcome;
    this.version = outcome.version;
    this.#issuedToken = outcome.issuedToken;
    this.identity = identity.subject;
    this.role = identity.role;
    this.tokenId = identity.tokenId;
    this.#who = identity;
    this.#log = this.#log.with({ identity: identity.subject });
    if (!this.deps.admitIdentity(this)) {
      await this.#refuse("limit_exceeded", "too many connections for this identity", control);
      return;
    }
    return identity;
  }

  /** Answers HELLO; called after the stream handler is in place so no early flow is refused. */
  async #welcome(control: ControlChannel, identity: Identity): Promise<void> {
    this.#authenticated = true;
    const remote = this.conn.remoteAddr;
    this.#observed = `${remote.hostname}:${remote.port}`;
    await control.send({
      type: "welcome",
      version: this.version,
      connId: this.connId,
      identity: identity.subject,
      role: identity.role,
      services: identity.services,
      observed: { hostname: remote.hostname, port: remote.port },
      limits: {
        maxStreams: this.deps.maxStreamsPerConnection,
        maxMessageBytes: MAX_CONTROL_MESSAGE,
      },
      tokenExpiresAt: identity.expiresAtMs,
      ...(identity.role === "connector" ? { ticketKey: await this.deps.broker.publicKey() } : {}),
      ...(this.#issuedToken === undefined ? {} : { issuedToken: this.#issuedToken }),
    });
    this.#issuedToken = undefined;
    this.#welcomed = true;
    this.deps.metrics.connections.inc(identity.role);
    this.deps.metrics.transports.inc(linkTransport(this.conn));
    this.#log.info("Peer authenticated as {identity} ({role})", {
      identity: identity.subject,
      role: identity.role,
    });
    this.#log.debug("Peer {connId} observed at {peer}", {
      connId: this.connId,
      peer: `${remote.hostname}:${remote.port}`,
    });
  }

  /**
   * Holds `identity`'s token: its id for revocation checks and its expiry for the close (re-armed
   * when a refreshed login brings a new token).
   */
  holdToken(identity: Identity): void {
    this.tokenId = identity.tokenId;
    clearTimeout(this.#expiry);
    const ms = Math.max(0, Math.min(identity.expiresAtMs - this.deps.clock(), 2 ** 31 - 1));
    this.#expiry = setTimeout(() => {
      this.#log.info("Token of {identity} expired; closing", { identity: identity.subject });
      this.close("token_expired");
    }, ms);
  }
}
