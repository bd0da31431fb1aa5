/**
 * The connector's side of direct (P2P) paths: a QUIC listener on the same endpoint it dials its
 * relays from (so the address the relay observed is where peers punch to), accepting only peers
 * that present a relay-signed ticket for this connector, and serving them the ticket's service with
 * the same allow-list as relayed flows — TCP flows, and UDP flows with the same per-flow sockets,
 * caps and idle expiry as relayed ones (their datagrams travel on the direct connection; flow ids
 * are assigned here, in the REPLY, unique per listener). Punching sends QUIC Initials toward the
 * client's candidates so this side's NAT lets the client's packets in.
 *
 * A path lives no longer than its ticket allows (`pxp`: the client token's expiry or the relay's
 * maximum path lifetime): it is closed at that instant unless the client presents a fresh ticket
 * for the same session on the path's control stream, and every new flow re-checks it. Revocations
 * the relays send (by token id, replayed whole at each registration) close matching paths at once.
 * Times are read on this connector's clock.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { type TicketClaims, verifyTicket } from "../auth/ticket.ts";
import {
  ALPN,
  type Candidate,
  decodeHeader,
  encodeHeader,
  type ErrorCode,
  ERRORS,
  PROTOCOL_VERSIONS,
  ZtnaError,
} from "../protocol/mod.ts";
import type { EphemeralCert } from "../pki/ephemeral_cert.ts";
import type { BackendTable } from "./backend_dialer.ts";
import {
  expireIdleUdpFlows,
  type FlowServerDeps,
  refuseFlow,
  serveTcpFlow,
  serveUdpFlow,
} from "./flow_server.ts";
import type { UdpBudget, UdpDrops, UdpFlow } from "./udp_flows.ts";
import type { ConnectorStats } from "./connector_stats.ts";
import { ChunkReader, ControlChannel, demuxDatagrams } from "../transport/mod.ts";

/** A relay this connector is registered with: its ticket key and the id it gave this connection. */
export interface TicketAuthority {
  ticketKey: string;
  connId: string;
}

/** Revoked token ids a connector remembers at most (the oldest is forgotten first). */
export const MAX_REVOKED_IDS = 1_000_000;

/** One accepted direct connection and what its current ticket allows. */
interface DirectPath {
  readonly conn: Deno.QuicConn;
  readonly identity: string;
  readonly service: string;
  readonly sessionId: string;
  tokenId: string;
  tokenExpiresAt: number;
  endsAt: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** Options of {@link DirectListener}. */
export interface DirectListenerOptions {
  endpoint: Deno.QuicEndpoint;
  cert: EphemeralCert;
  backends: BackendTable;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  punchTimeoutMs: number;
  /** UDP settings shared with relayed flows; without them direct paths refuse UDP flows. */
  udp?: {
    budget: UdpBudget;
    drops: UdpDrops;
    queueDepth: number;
    idleMs: number;
  };
  /** Counters for the status endpoint. */
  stats?: ConnectorStats;
  /** Flows in progress, shared with the relay links (a draining data plane waits for them). */
  tracker?: { flowStarted(): void; flowEnded(): void };
  log: Logger;
}

/** Serves direct connections until the endpoint closes. */
export class DirectListener {
  readonly authorities = new Set<TicketAuthority>();
  #flowIds = 0;
  readonly #live = new Set<Deno.QuicConn>();
  readonly #paths = new Map<Deno.QuicConn, DirectPath>();
  /** Token ids the relays said are revoked; a union over every relay and connection. */
  readonly #revoked = new Set<string>();

  constructor(readonly options: DirectListenerOptions) {
    const { endpoint, cert, idleTimeoutMs } = options;
    const listener = endpoint.listen({
      alpnProtocols: [ALPN],
      cert: cert.cert,
      key: cert.key,
      maxIdleTimeout: idleTimeoutMs,
      keepAliveInterval: Math.max(200, Math.floor(idleTimeoutMs / 3)),
      maxConcurrentUnidirectionalStreams: 0,
    });
    void this.#accept(listener);
  }

  async #accept(listener: Deno.QuicListener): Promise<void> {
    while (true) {
      let conn: Deno.QuicConn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
        this.options.log.debug("Direct handshake failed: {error}", { error: String(e) });
        continue;
      }
      this.#live.add(conn);
      void this.#serve(conn).finally(() => {
        this.#live.delete(conn);
        clearTimeout(this.#paths.get(conn)?.timer);
        this.#paths.delete(conn);
      });
    }
  }

  /**
   * Closes the direct paths of `identity` (an operator kicked it), or only those for `service`
   * (the relay's access policy took it away: `unauthorized`); returns how many.
   */
  kick(identity: string, service?: string): number {
    if (service === undefined) return this.#closeWhere((p) => p.identity === identity, "kicked");
    return this.#closeWhere(
      (p) => p.identity === identity && p.service === service,
      "unauthorized",
    );
  }

  /**
   * Remembers revoked token ids and closes the direct paths that hold one; returns how many.
   * The set only grows (bounded): a relay replays its whole set at every registration.
   */
  revokeTokens(tokenIds: readonly string[]): number {
    for (const id of tokenIds) {
      this.#revoked.delete(id); // re-inserted as the newest
      this.#revoked.add(id);
    }
    for (const id of this.#revoked) {
      if (this.#revoked.size <= MAX_REVOKED_IDS) break;
      this.#revoked.delete(id);
    }
    return this.#closeWhere((p) => this.#revoked.has(p.tokenId), "token_revoked");
  }

  #closeWhere(
    match: (p: DirectPath) => boolean,
    code: "kicked" | "token_revoked" | "unauthorized",
  ): number {
    let n = 0;
    for (const path of this.#paths.values()) {
      if (!match(path)) continue;
      this.#end(path, code);
      n++;
    }
    return n;
  }

  /** Closes one path with `code` and says so once. */
  #end(path: DirectPath, code: ErrorCode): void {
    if (!this.#paths.delete(path.conn)) return;
    clearTimeout(path.timer);
    this.options.log.warn("Closed the direct path of {identity} for {service}: {code}", {
      identity: path.identity,
      service: path.service,
      code,
    });
    try {
      path.conn.close({ closeCode: ERRORS[code].wire, reason: code });
    } catch { /* already closed */ }
  }

  /** Why `path` may serve nothing more now, or undefined while its ticket holds. */
  #expired(path: DirectPath, now = Date.now()): ErrorCode | undefined {
    if (this.#revoked.has(path.tokenId)) return "token_revoked";
    if (now >= path.tokenExpiresAt) return "token_expired";
    if (now >= path.endsAt) return "path_expired";
    return undefined;
  }

  /** Arms the timer that ends `path` at the instant its ticket runs out. */
  #arm(path: DirectPath): void {
    clearTimeout(path.timer);
    const ms = Math.max(0, Math.min(path.endsAt - Date.now(), 2 ** 31 - 1));
    path.timer = setTimeout(() => {
      const code = this.#expired(path);
      if (code) this.#end(path, code);
      else this.#arm(path); // a timer fired early
    }, ms);
  }

  /** Takes a ticket's claims as the path's limits, after the checks that apply to it now. */
  #admit(claims: TicketClaims): ErrorCode | undefined {
    if (this.#revoked.has(claims.tid)) return "token_revoked";
    const now = Date.now();
    if (now >= claims.texp) return "token_expired";
    if (now >= claims.pxp) return "path_expired";
    return undefined;
  }

  /** Closes every direct connection (shutdown). */
  closeAll(): void {
    for (const c of this.#live) {
      c.close({ closeCode: ERRORS.going_away.wire, reason: "going_away" });
    }
  }

  /** Checks a ticket against every relay this connector is registered with. */
  async #check(ticket: string) {
    let last = { ok: false as const, code: "unauthenticated" as const, why: "no relay session" };
    for (const a of this.authorities) {
      const r = await verifyTicket(a.ticketKey, ticket, a.connId);
      if (r.ok) return r;
      last = { ok: false, code: "unauthenticated", why: r.why };
    }
    return last;
  }

  async #serve(conn: Deno.QuicConn): Promise<void> {
    const { log } = this.options;
    const streams = conn.incomingBidirectionalStreams.getReader();
    try {
      const first = await Promise.race([
        streams.read(),
        new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 5_000)),
      ]);
      if (first === "timeout" || first.done) {
        throw new ZtnaError("hello_timeout", "no direct HELLO");
      }
      const control = new ControlChannel(first.value);
      const hello = await control.next();
      if (hello?.type !== "direct_hello") {
        throw new ZtnaError("unauthenticated", "first message is not direct_hello");
      }
      if (!hello.versions.some((v) => (PROTOCOL_VERSIONS as readonly number[]).includes(v))) {
        throw new ZtnaError("version_unsupported", "no common version");
      }
      const check = await this.#check(hello.ticket);
      if (!check.ok) throw new ZtnaError(check.code, check.why);
      const claims = check.claims;
      const refusal = this.#admit(claims);
      if (refusal) throw new ZtnaError(refusal, `ticket names a token that is ${refusal}`);
      const { sub: identity, svc: service } = claims;
      const path: DirectPath = {
        conn,
        identity,
        service,
        sessionId: claims.sid,
        tokenId: claims.tid,
        tokenExpiresAt: claims.texp,
        endsAt: claims.pxp,
      };
      this.#paths.set(conn, path);
      this.#arm(path);
      await control.send({ type: "direct_welcome", service, expiresAt: path.endsAt });
      log.info("Direct path from {identity} for {service} accepted", { identity, service });
      const refreshes = this.#serveRefreshes(control, path);
      // Datagrams are read only now that the ticket checked out: before, none is processed.
      const udp = this.#udpDeps(conn);
      const datagrams = udp && this.#pumpDatagrams(conn, udp);
      const running = new Set<Promise<void>>();
      while (true) {
        const next = await streams.read().catch(() => ({ done: true as const, value: undefined }));
        if (next.done) break;
        // A flow is opened on the ticket as it stands now, whatever the timer has not yet done.
        const ended = this.#expired(path);
        if (ended) {
          this.#end(path, ended);
          break;
        }
        this.options.tracker?.flowStarted();
        const p = this.#flow(next.value, identity, service, udp).finally(() => {
          running.delete(p);
          this.options.tracker?.flowEnded();
        });
        running.add(p);
      }
      await Promise.all(running);
      await datagrams;
      await refreshes;
    } catch (e) {
      const code = e instanceof ZtnaError ? e.code : "protocol_error";
      log.warn("Refused a direct connection: {code}", { code });
      try {
        conn.close({ closeCode: ERRORS[code].wire, reason: code });
      } catch { /* closed */ }
    }
  }

  /**
   * Reads fresh tickets on the path's control stream: one for the same session, identity and
   * service extends the path; anything else ends it (fail closed).
   */
  async #serveRefreshes(control: ControlChannel, path: DirectPath): Promise<void> {
    const { log } = this.options;
    while (this.#paths.has(path.conn)) {
      const msg = await control.next().catch(() => null);
      if (msg === null) return;
      if (msg.type !== "direct_refresh") return this.#end(path, "protocol_error");
      const check = await this.#check(msg.ticket);
      const claims = check.ok ? check.claims : undefined;
      const same = claims && claims.sid === path.sessionId && claims.sub === path.identity &&
        claims.svc === path.service;
      const refusal = !check.ok ? check.code : !same ? "unauthorized" : this.#admit(claims);
      if (refusal) return this.#end(path, refusal);
      path.tokenId = claims!.tid;
      path.tokenExpiresAt = claims!.texp;
      path.endsAt = claims!.pxp;
      this.#arm(path);
      log.debug("Direct path of {identity} for {service} renewed until {until}", {
        identity: path.identity,
        service: path.service,
        until: new Date(path.endsAt).toISOString(),
      });
      await control.send({ type: "direct_welcome", service: path.service, expiresAt: path.endsAt })
        .catch(() => {});
    }
  }

  /** What serving UDP flows on `conn` needs; undefined when UDP is not configured. */
  #udpDeps(conn: Deno.QuicConn): FlowServerDeps | undefined {
    const { udp, backends, connectTimeoutMs, log } = this.options;
    if (!udp) return undefined;
    return {
      backends,
      connectTimeoutMs,
      log,
      conn,
      udpFlows: new Map<number, UdpFlow>(),
      udpBudget: udp.budget,
      udpDrops: udp.drops,
      udpQueueDepth: udp.queueDepth,
      stats: this.options.stats,
    };
  }

  /** Client → backend datagrams of `conn`'s own UDP flows, and their idle sweep, until it ends. */
  async #pumpDatagrams(conn: Deno.QuicConn, deps: FlowServerDeps): Promise<void> {
    const idleMs = this.options.udp!.idleMs;
    const sweeper = setInterval(
      () => expireIdleUdpFlows(deps.udpFlows, idleMs),
      Math.max(100, Math.min(5_000, idleMs / 4)),
    );
    try {
      await demuxDatagrams(
        conn,
        (flowId) => {
          const flow = deps.udpFlows.get(flowId);
          return flow && ((payload) => flow.toBackend(payload));
        },
        (reason) => deps.udpDrops.inc(reason),
      );
    } finally {
      clearInterval(sweeper);
    }
  }

  async #flow(
    stream: Deno.QuicBidirectionalStream,
    identity: string,
    service: string,
    udp: FlowServerDeps | undefined,
  ): Promise<void> {
    const reader = new ChunkReader(stream.readable);
    const writer = stream.writable.getWriter();
    const flowId = (this.#flowIds = (this.#flowIds + 1) >>> 0);
    try {
      const open = await reader.readHeader((b) => decodeHeader(b, "open"));
      // The ticket names one service; UDP flows need the connector's UDP settings.
      if (open.service !== service || (open.protocol === "udp" && !udp)) {
        const code = open.service !== service ? "unauthorized" : "unknown_service";
        return await refuseFlow(
          { flowId, service: open.service },
          writer,
          reader,
          new ZtnaError(code, code),
          this.options.log,
        );
      }
      if (open.protocol === "udp") {
        return await serveUdpFlow({ flowId, service, identity }, reader, writer, udp!);
      }
      await serveTcpFlow({ flowId, service, identity }, reader, writer, stream, this.options);
    } catch (e) {
      const code = e instanceof ZtnaError ? e.code : "protocol_error";
      await writer.write(encodeHeader({ type: "reply", code, flowId })).catch(() => {});
      await writer.close().catch(() => {});
      await reader.cancel(code);
    }
  }

  /**
   * Opens this side's NAT toward the client: QUIC Initials from the listening endpoint to every
   * candidate. They are not meant to connect (the client does not listen); they are paced and end
   * at the punch deadline.
   */
  punch(candidates: Candidate[]): void {
    const { endpoint, cert, punchTimeoutMs } = this.options;
    for (const c of candidates) {
      Deno.connectQuic<false>({
        endpoint,
        hostname: c.hostname,
        port: c.port,
        alpnProtocols: [ALPN],
        serverName: cert.serverName,
        caCerts: [cert.cert],
        maxIdleTimeout: punchTimeoutMs,
      }).then((conn) => conn.close({ closeCode: 0, reason: "punch" }), () => {});
    }
  }
}
