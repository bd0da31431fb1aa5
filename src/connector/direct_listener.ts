/**
 * The connector's side of direct (P2P) paths: a QUIC listener on the same endpoint it dials its
 * relays from (so the address the relay observed is where peers punch to), accepting only peers
 * that present a relay-signed ticket for this connector, and serving them the ticket's service with
 * the same allow-list as relayed flows — TCP flows, and UDP flows with the same per-flow sockets,
 * caps and idle expiry as relayed ones (their datagrams travel on the direct connection; flow ids
 * are assigned here, in the REPLY, unique per listener). Punching sends QUIC Initials toward the
 * client's candidates so this side's NAT lets the client's packets in.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { verifyTicket } from "../auth/ticket.ts";
import {
  ALPN,
  type Candidate,
  decodeHeader,
  encodeHeader,
  ERRORS,
  PROTOCOL_VERSIONS,
  ZtnaError,
} from "../protocol/mod.ts";
import type { EphemeralCert } from "../pki/ephemeral_cert.ts";
import { ChunkReader } from "../transport/chunk_reader.ts";
import { ControlChannel } from "../transport/control_channel.ts";
import { demuxDatagrams } from "../transport/datagram_demux.ts";
import type { BackendTable } from "./backend_dialer.ts";
import {
  expireIdleUdpFlows,
  type FlowServerDeps,
  refuseFlow,
  serveTcpFlow,
  serveUdpFlow,
} from "./flow_server.ts";
import type { UdpBudget, UdpDrops, UdpFlow } from "./udp_flows.ts";

/** A relay this connector is registered with: its ticket key and the id it gave this connection. */
export interface TicketAuthority {
  ticketKey: string;
  connId: string;
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
  log: Logger;
}

/** Serves direct connections until the endpoint closes. */
export class DirectListener {
  readonly authorities = new Set<TicketAuthority>();
  #flowIds = 0;
  readonly #live = new Set<Deno.QuicConn>();
  readonly #byIdentity = new Map<Deno.QuicConn, string>();

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
        this.#byIdentity.delete(conn);
      });
    }
  }

  /** Closes the direct paths of `identity` (the relay revoked or kicked it); returns how many. */
  revoke(identity: string): number {
    let n = 0;
    for (const [conn, who] of this.#byIdentity) {
      if (who !== identity) continue;
      conn.close({ closeCode: ERRORS.token_revoked.wire, reason: "token_revoked" });
      n++;
    }
    if (n > 0) {
      this.options.log.warn("Closed {count} direct path(s) of {identity}: revoked", {
        count: n,
        identity,
      });
    }
    return n;
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
      const { sub: identity, svc: service } = check.claims;
      this.#byIdentity.set(conn, identity);
      await control.send({ type: "direct_welcome", service });
      log.info("Direct path from {identity} for {service} accepted", { identity, service });
      // Datagrams are read only now that the ticket checked out: before, none is processed.
      const udp = this.#udpDeps(conn);
      const datagrams = udp && this.#pumpDatagrams(conn, udp);
      const running = new Set<Promise<void>>();
      while (true) {
        const next = await streams.read().catch(() => ({ done: true as const, value: undefined }));
        if (next.done) break;
        const p = this.#flow(next.value, identity, service, udp).finally(() => running.delete(p));
        running.add(p);
      }
      await Promise.all(running);
      await datagrams;
    } catch (e) {
      const code = e instanceof ZtnaError ? e.code : "protocol_error";
      log.warn("Refused a direct connection: {code}", { code });
      try {
        conn.close({ closeCode: ERRORS[code].wire, reason: code });
      } catch { /* closed */ }
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
