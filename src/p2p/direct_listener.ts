/**
 * The connector's side of direct (P2P) paths: a QUIC listener on the same endpoint it dials its
 * relays from (so the address the relay observed is where peers punch to), accepting only peers
 * that present a relay-signed ticket for this connector, and handing their flows for the ticket's
 * service to the connector's flow serving (`DirectListenerOptions.flows`: the same allow-list as
 * relayed flows — TCP flows, and UDP flows with the same per-flow sockets, caps and idle expiry;
 * their datagrams travel on the direct connection; flow ids are assigned here, in the REPLY, unique
 * per listener). Punching sends QUIC Initials toward the client's candidates so this side's NAT
 * lets the client's packets in.
 *
 * A path lives no longer than its ticket allows (`pxp`: the client token's expiry or the relay's
 * maximum path lifetime): it is closed at that instant unless the client presents a fresh ticket
 * for the same session on the path's control stream, and every new flow re-checks it
 * (path_tickets.ts). Revocations the relays send (by token id, replayed whole at each
 * registration) close matching paths at once.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import {
  ALPN,
  type Candidate,
  type ControlMessage,
  decodeHeader,
  encodeHeader,
  type ErrorCode,
  ERRORS,
  type FlowHeader,
  PROTOCOL_VERSIONS,
  ZtnaError,
} from "../protocol/mod.ts";
import type { EphemeralCert } from "../pki/ephemeral_cert.ts";
import { ChunkReader, ControlChannel } from "../transport/mod.ts";
import { directCandidates, type InterfaceAddress } from "./candidates.ts";
import { type DirectPath, PathTickets, type TicketAuthority } from "./path_tickets.ts";

/** One flow opened on a direct path, its service the ticket's, as the listener hands it on. */
export type DirectFlow = Pick<FlowHeader, "flowId" | "service" | "identity" | "protocol">;

/** Where a flow's stream stands when it is handed on: its OPEN header read, nothing answered. */
export interface DirectFlowStream {
  reader: ChunkReader;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  stream: Deno.QuicBidirectionalStream;
}

/**
 * What serves the flows of one accepted direct connection (the connector's backends: the same
 * allow-list, caps and idle expiry as relayed flows). The listener admits and routes; this serves.
 */
export interface DirectConnFlows {
  /** Serves one flow to its end: REPLY, then its bytes or datagrams. */
  serve(flow: DirectFlow, io: DirectFlowStream): Promise<void>;
  /** Answers a flow the ticket does not allow with `code` and closes its stream. */
  refuse(
    flow: Pick<DirectFlow, "flowId" | "service">,
    io: DirectFlowStream,
    code: ErrorCode,
  ): Promise<void>;
  /** The connection's datagrams (client → backend) until it ends. */
  datagrams(): Promise<void>;
}

/** Options of {@link DirectListener}. */
export interface DirectListenerOptions {
  endpoint: Deno.QuicEndpoint;
  cert: EphemeralCert;
  idleTimeoutMs: number;
  punchTimeoutMs: number;
  /** Serving of an accepted connection's flows, opened once its ticket checked out. */
  flows: (conn: Deno.QuicConn) => DirectConnFlows;
  /** Flows in progress, shared with the relay links (a draining data plane waits for them). */
  tracker?: { flowStarted(): void; flowEnded(): void };
  log: Logger;
}

/** Serves direct connections until the endpoint closes. */
export class DirectListener {
  #flowIds = 0;
  readonly #live = new Set<Deno.QuicConn>();
  readonly #tickets: PathTickets;

  constructor(readonly options: DirectListenerOptions) {
    const { endpoint, cert, idleTimeoutMs } = options;
    this.#tickets = new PathTickets(options.log);
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

  /** The relays whose tickets this listener takes (one per registered relay connection). */
  get authorities(): Set<TicketAuthority> {
    return this.#tickets.authorities;
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
        this.#tickets.forget(conn);
      });
    }
  }

  /**
   * Closes the direct paths of `identity` (an operator kicked it), or only those for `service`
   * (the relay's access policy took it away: `unauthorized`); returns how many.
   */
  kick(identity: string, service?: string): number {
    return this.#tickets.kick(identity, service);
  }

  /**
   * Remembers revoked token ids and closes the direct paths that hold one; returns how many.
   * The set only grows (bounded): a relay replays its whole set at every registration.
   */
  revokeTokens(tokenIds: readonly string[]): number {
    return this.#tickets.revokeTokens(tokenIds);
  }

  /** Closes every direct connection (shutdown). */
  closeAll(): void {
    for (const c of this.#live) {
      c.close({ closeCode: ERRORS.going_away.wire, reason: "going_away" });
    }
  }

  async #serve(conn: Deno.QuicConn): Promise<void> {
    const streams = conn.incomingBidirectionalStreams.getReader();
    try {
      const { control, path } = await this.#welcome(conn, streams);
      const refreshes = this.#serveRefreshes(control, path);
      // Datagrams are read only now that the ticket checked out: before, none is processed.
      const flows = this.options.flows(conn);
      const datagrams = flows.datagrams();
      await this.#serveFlows(streams, path, flows);
      await datagrams;
      await refreshes;
    } catch (e) {
      const code = e instanceof ZtnaError ? e.code : "protocol_error";
      this.options.log.warn("Refused a direct connection: {code}", { code });
      try {
        conn.close({ closeCode: ERRORS[code].wire, reason: code });
      } catch { /* closed */ }
    }
  }

  /**
   * The path's first stream: a `direct_hello` with a common version and a ticket that checks out,
   * answered with `direct_welcome`. @throws {ZtnaError} with the refusal's code
   */
  async #welcome(
    conn: Deno.QuicConn,
    streams: ReadableStreamDefaultReader<Deno.QuicBidirectionalStream>,
  ): Promise<{ control: ControlChannel; path: DirectPath }> {
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
    const check = await this.#tickets.check(hello.ticket);
    if (!check.ok) throw new ZtnaError(check.code, check.why);
    const refusal = this.#tickets.refusal(check.claims);
    if (refusal) throw new ZtnaError(refusal, `ticket names a token that is ${refusal}`);
    const path = this.#tickets.open(conn, check.claims);
    const { identity, service } = path;
    await control.send({ type: "direct_welcome", service, expiresAt: path.endsAt });
    this.options.log.info("Direct path from {identity} for {service} accepted", {
      identity,
      service,
    });
    return { control, path };
  }

  /** Serves each new stream of the path as a flow, while its ticket holds; waits for them all. */
  async #serveFlows(
    streams: ReadableStreamDefaultReader<Deno.QuicBidirectionalStream>,
    path: DirectPath,
    flows: DirectConnFlows,
  ): Promise<void> {
    const { tracker } = this.options;
    const running = new Set<Promise<void>>();
    while (true) {
      const next = await streams.read().catch(() => ({ done: true as const, value: undefined }));
      if (next.done) break;
      // A flow is opened on the ticket as it stands now, whatever the timer has not yet done.
      const ended = this.#tickets.expired(path);
      if (ended) {
        this.#tickets.end(path, ended);
        break;
      }
      tracker?.flowStarted();
      const p = this.#flow(next.value, path, flows).finally(() => {
        running.delete(p);
        tracker?.flowEnded();
      });
      running.add(p);
    }
    await Promise.all(running);
  }

  /**
   * Reads fresh tickets on the path's control stream: one for the same session, identity and
   * service extends the path; anything else ends it (fail closed).
   */
  async #serveRefreshes(control: ControlChannel, path: DirectPath): Promise<void> {
    const tickets = this.#tickets;
    while (tickets.has(path)) {
      const msg = await control.next().catch(() => null);
      if (msg === null) return;
      if (msg.type !== "direct_refresh") return tickets.end(path, "protocol_error");
      const check = await tickets.check(msg.ticket);
      const claims = check.ok ? check.claims : undefined;
      const same = claims && claims.sid === path.sessionId && claims.sub === path.identity &&
        claims.svc === path.service;
      const refusal = !check.ok ? check.code : !same ? "unauthorized" : tickets.refusal(claims);
      if (refusal) return tickets.end(path, refusal);
      tickets.renew(path, claims!);
      this.options.log.debug("Direct path of {identity} for {service} renewed until {until}", {
        identity: path.identity,
        service: path.service,
        until: new Date(path.endsAt).toISOString(),
      });
      await control.send({ type: "direct_welcome", service: path.service, expiresAt: path.endsAt })
        .catch(() => {});
    }
  }

  /** One flow of the path: its OPEN header must name the ticket's service. */
  async #flow(
    stream: Deno.QuicBidirectionalStream,
    path: DirectPath,
    flows: DirectConnFlows,
  ): Promise<void> {
    const io = {
      reader: new ChunkReader(stream.readable),
      writer: stream.writable.getWriter(),
      stream,
    };
    const flowId = (this.#flowIds = (this.#flowIds + 1) >>> 0);
    const { identity, service } = path;
    try {
      const open = await io.reader.readHeader((b) => decodeHeader(b, "open"));
      // The ticket names one service.
      if (open.service !== service) {
        return await flows.refuse({ flowId, service: open.service }, io, "unauthorized");
      }
      await flows.serve({ flowId, service, identity, protocol: open.protocol }, io);
    } catch (e) {
      const code = e instanceof ZtnaError ? e.code : "protocol_error";
      await io.writer.write(encodeHeader({ type: "reply", code, flowId })).catch(() => {});
      await io.writer.close().catch(() => {});
      await io.reader.cancel(code);
    }
  }

  /**
   * Answers a relay's `direct_offer` on its control stream: this side's candidates, certificate
   * and name in `direct_accept`, then punching toward the client's candidates.
   */
  async answerOffer(
    offer: Extract<ControlMessage, { type: "direct_offer" }>,
    relay: { observed: Candidate; send(m: ControlMessage): Promise<void> },
    interfaces: readonly InterfaceAddress[],
    log: Logger,
  ): Promise<void> {
    const { endpoint, cert } = this.options;
    const candidates = directCandidates(relay.observed, endpoint.addr.port, interfaces);
    await relay.send({
      type: "direct_accept",
      sessionId: offer.sessionId,
      candidates,
      cert: cert.cert,
      serverName: cert.serverName,
    });
    log.debug("Punching toward {identity} for {service}: theirs {theirs}, ours {ours}", {
      identity: offer.identity,
      service: offer.service,
      theirs: offer.candidates.map((c) => `${c.hostname}:${c.port}`).join(" "),
      ours: candidates.map((c) => `${c.hostname}:${c.port}`).join(" "),
    });
    this.#punch(offer.candidates);
  }

  /**
   * Opens this side's NAT toward the client: QUIC Initials from the listening endpoint to every
   * candidate. They are not meant to connect (the client does not listen); they are paced and end
   * at the punch deadline.
   */
  #punch(candidates: Candidate[]): void {
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
