/**
 * The client's direct (P2P) paths, one per service: ask the relay to broker a session, punch toward
 * the connector's candidates from the endpoint the relay connection uses, authenticate with the
 * relay's ticket, and keep the path while it answers. New flows use a live direct path, the relay
 * otherwise; a lost or failed path is retried every `retryMs`.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { ALPN, type ControlMessage, ERRORS, PROTOCOL_VERSIONS } from "../protocol/mod.ts";
import { directCandidates, hostInterfaces } from "../transport/candidates.ts";
import { ControlChannel } from "../transport/control_channel.ts";
import type { PeerSession } from "../transport/dial.ts";

/** Settings of {@link DirectPaths}. */
export interface DirectPathsOptions {
  endpoint: Deno.QuicEndpoint;
  retryMs: number;
  punchTimeoutMs: number;
  idleTimeoutMs: number;
  log: Logger;
}

type Answer = Extract<ControlMessage, { type: "direct_ready" | "direct_refused" }>;

interface PathState {
  conn?: Deno.QuicConn;
  lastFailure?: string;
  trying: boolean;
  nextTryAt: number;
}

/** Direct paths by service, for one client. */
export class DirectPaths {
  readonly #paths = new Map<string, PathState>();
  readonly #waiting = new Map<number, (a: Answer) => void>();
  #requestIds = 0;

  constructor(readonly options: DirectPathsOptions) {}

  /** The live direct connection for `service`, if any. */
  get(service: string): Deno.QuicConn | undefined {
    return this.#paths.get(service)?.conn;
  }

  /** Path in use for `service`, for logs and tests. */
  pathOf(service: string): "direct" | "relay" {
    return this.get(service) ? "direct" : "relay";
  }

  /** Routes the relay's answers (read from the control stream by the session). */
  onControl(msg: ControlMessage): void {
    if (
      (msg.type === "direct_ready" || msg.type === "direct_refused") && msg.requestId !== undefined
    ) {
      this.#waiting.get(msg.requestId)?.(msg);
    }
  }

  /** Starts an attempt for `service` unless one is running, up, or not due yet. */
  ensure(service: string, session: PeerSession): void {
    const state = this.#paths.get(service) ?? { trying: false, nextTryAt: 0 };
    this.#paths.set(service, state);
    if (state.conn || state.trying || Date.now() < state.nextTryAt) return;
    state.trying = true;
    void this.#attempt(service, session, state).finally(() => state.trying = false);
  }

  /** Closes every direct path (shutdown). */
  closeAll(): void {
    for (const s of this.#paths.values()) {
      s.conn?.close({ closeCode: ERRORS.going_away.wire, reason: "going_away" });
    }
  }

  async #attempt(service: string, session: PeerSession, state: PathState): Promise<void> {
    const { log, retryMs } = this.options;
    const fail = (reason: string) => {
      state.nextTryAt = Date.now() + retryMs;
      // Said once at info; repeats of the same reason (e.g. no direct-capable connector) at debug.
      const level = state.lastFailure === reason ? "debug" : "info";
      state.lastFailure = reason;
      log[level]("Direct path to {service} failed: {reason}; using the relay", { service, reason });
    };
    const requestId = this.#requestIds++;
    const answer = new Promise<Answer | "timeout">((resolve) => {
      const timer = setTimeout(() => resolve("timeout"), 10_000);
      this.#waiting.set(requestId, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
    });
    try {
      // Interfaces are listed per attempt: a laptop changes networks.
      const candidates = directCandidates(
        session.observed,
        session.conn.endpoint.addr.port,
        hostInterfaces(),
      );
      await session.control.send({ type: "direct_request", requestId, service, candidates });
      const a = await answer;
      if (a === "timeout") return fail("no answer from the relay");
      if (a.type === "direct_refused") return fail(`relay answered ${a.code}`);
      log.debug("Dialing {theirs} for a direct path to {service}; announced {ours}", {
        service,
        theirs: a.candidates.map((c) => `${c.hostname}:${c.port}`).join(" "),
        ours: candidates.map((c) => `${c.hostname}:${c.port}`).join(" "),
      });
      const conn = await this.#punch(a);
      if (!conn) return fail("hole punching timed out");
      const welcome = await this.#hello(conn, a.ticket);
      if (!welcome) {
        conn.close({ closeCode: 0, reason: "" });
        return fail("connector refused the ticket");
      }
      state.conn = conn;
      state.lastFailure = undefined;
      log.info("Direct path to {service} is up via {address}", {
        service,
        address: `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`,
      });
      report(session, service, "direct");
      conn.closed.catch(() => undefined).finally(() => {
        if (state.conn !== conn) return;
        state.conn = undefined;
        state.nextTryAt = Date.now() + retryMs;
        log.warn("Direct path to {service} lost; using the relay", { service });
        report(session, service, "relay");
      });
    } catch (e) {
      fail(e instanceof Error ? e.message : String(e));
    } finally {
      this.#waiting.delete(requestId);
    }
  }

  /** Dials every candidate at once; the first handshake wins, the others are closed. */
  async #punch(a: Extract<Answer, { type: "direct_ready" }>): Promise<Deno.QuicConn | undefined> {
    const { endpoint, punchTimeoutMs, idleTimeoutMs } = this.options;
    let winner: Deno.QuicConn | undefined;
    const attempts = a.candidates.map((c) =>
      Deno.connectQuic<false>({
        endpoint,
        hostname: c.hostname,
        port: c.port,
        serverName: a.serverName,
        caCerts: [a.cert],
        alpnProtocols: [ALPN],
        keepAliveInterval: Math.max(200, Math.floor(idleTimeoutMs / 3)),
        maxIdleTimeout: idleTimeoutMs,
      }).then((conn) => {
        if (winner) conn.close({ closeCode: 0, reason: "duplicate" });
        else winner = conn;
        return conn;
      })
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.any(attempts).catch(() => undefined),
      new Promise((r) => timer = setTimeout(r, punchTimeoutMs)),
    ]).finally(() => clearTimeout(timer));
    if (!winner) {
      // Late winners after the deadline are closed; the relay path is already in use.
      for (const p of attempts) p.then((c) => c.close({ closeCode: 0, reason: "late" }), () => {});
      winner = undefined;
      return undefined;
    }
    return winner;
  }

  async #hello(conn: Deno.QuicConn, ticket: string): Promise<boolean> {
    const control = new ControlChannel(await conn.createBidirectionalStream());
    await control.send({ type: "direct_hello", versions: [...PROTOCOL_VERSIONS], ticket });
    const answer = await Promise.race([
      control.next().catch(() => null),
      new Promise<null>((r) => setTimeout(() => r(null), 5_000)),
    ]);
    return answer?.type === "direct_welcome";
  }
}

/** Tells the relay which path a service's flows take; best effort. */
function report(session: PeerSession, service: string, path: "direct" | "relay"): void {
  session.control.send({ type: "path_report", service, path }).catch(() => {});
}
