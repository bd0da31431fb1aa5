/**
 * The client's direct (P2P) paths, one per service: ask the relay to broker a session, punch toward
 * the connector's candidates from the endpoint the relay connection uses, authenticate with the
 * relay's ticket, and keep the path while it answers. New flows use a live direct path, the relay
 * otherwise; a lost or failed path is retried every `retryMs`. The connector ends a path when its
 * ticket runs out (token expiry or the relay's maximum path lifetime); before that, the client asks
 * the relay for a fresh ticket and hands it to the connector, so long flows survive while the
 * relay still authorizes them.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { ALPN, type ControlMessage, ERRORS, PROTOCOL_VERSIONS } from "../protocol/mod.ts";
import { deadline, TIMED_OUT } from "../runtime/mod.ts";
import { ControlChannel, linkTransport, type RelaySession } from "../transport/mod.ts";
import { directCandidates, hostInterfaces } from "./candidates.ts";

/** Settings of {@link DirectPaths}. */
export interface DirectPathsOptions {
  endpoint: Deno.QuicEndpoint;
  retryMs: number;
  punchTimeoutMs: number;
  idleTimeoutMs: number;
  /** The current relay session, if any: renewals go through whichever is up. */
  session(): RelaySession | undefined;
  log: Logger;
}

type Answer = Extract<
  ControlMessage,
  { type: "direct_ready" | "direct_refused" | "direct_renewed" }
>;

/** The broker's go-ahead: the connector's candidates, certificate and the ticket. */
type Ready = Extract<Answer, { type: "direct_ready" }>;

/** Ends an attempt: why, what to log (info once, then debug), how many retry periods to wait. */
type Fail = (reason: string, message?: string, hold?: number) => void;

/** A live path: its connection, its control stream, and what renewing it needs. */
interface LivePath {
  conn: Deno.QuicConn;
  control: ControlChannel;
  sessionId: string;
  /** When the connector ends the path without a fresh ticket (its clock). */
  expiresAt: number;
  renewal?: ReturnType<typeof setTimeout>;
}

interface PathState {
  live?: LivePath;
  lastFailure?: string;
  trying: boolean;
  nextTryAt: number;
  /** Refusals in a row that will not heal by themselves (no grant, revoked, expired). */
  refusals?: number;
}

/** How long before a path's end the client asks for a fresh ticket: a fifth of what is left, 1–60 s. */
export function renewalLeadMs(leftMs: number): number {
  return Math.min(60_000, Math.max(1_000, Math.floor(leftMs / 5)));
}

/** Direct paths by service, for one client. */
export class DirectPaths {
  readonly #paths = new Map<string, PathState>();
  readonly #waiting = new Map<number, (a: Answer) => void>();
  #requestIds = 0;

  constructor(readonly options: DirectPathsOptions) {}

  /** The live direct connection for `service`, if any. */
  get(service: string): Deno.QuicConn | undefined {
    return this.#paths.get(service)?.live?.conn;
  }

  /** Path in use for `service`, for logs and tests. */
  pathOf(service: string): "direct" | "relay" {
    return this.get(service) ? "direct" : "relay";
  }

  /** Routes the relay's answers (read from the control stream by the session). */
  onControl(msg: ControlMessage): void {
    if (
      (msg.type === "direct_ready" || msg.type === "direct_refused" ||
        msg.type === "direct_renewed") && msg.requestId !== undefined
    ) {
      this.#waiting.get(msg.requestId)?.(msg);
    }
  }

  /** Starts an attempt for `service` unless one is running, up, or not due yet. */
  ensure(service: string, session: RelaySession): void {
    const state = this.#paths.get(service) ?? { trying: false, nextTryAt: 0 };
    this.#paths.set(service, state);
    if (state.live || state.trying || Date.now() < state.nextTryAt) return;
    // Direct paths are QUIC (UDP) only, and a relay link over TCP observes a TCP mapping, useless
    // for hole punching: while on TCP, flows take the relay.
    if (linkTransport(session.conn) === "tcp") return;
    state.trying = true;
    void this.#attempt(service, session, state).finally(() => state.trying = false);
  }

  /** Closes every direct path (shutdown). */
  closeAll(): void {
    for (const s of this.#paths.values()) {
      clearTimeout(s.live?.renewal);
      s.live?.conn.close({ closeCode: ERRORS.going_away.wire, reason: "going_away" });
    }
  }

  /** One attempt: ask the relay's broker, punch, say HELLO with its ticket, keep the path. */
  async #attempt(service: string, session: RelaySession, state: PathState): Promise<void> {
    const fail = this.#failer(service, state);
    const { requestId, answer } = this.#ask();
    try {
      // Interfaces are listed per attempt: a laptop changes networks.
      const candidates = directCandidates(
        session.observed,
        this.options.endpoint.addr.port,
        hostInterfaces(),
      );
      await session.control.send({ type: "direct_request", requestId, service, candidates });
      const a = await answer;
      if (a === "timeout") return fail("no answer from the relay");
      if (a.type !== "direct_ready") return this.#refused(a, state, fail);
      this.options.log.debug("Dialing {theirs} for a direct path to {service}; announced {ours}", {
        service,
        theirs: a.candidates.map((c) => `${c.hostname}:${c.port}`).join(" "),
        ours: candidates.map((c) => `${c.hostname}:${c.port}`).join(" "),
      });
      const opened = await this.#open(a);
      if ("failure" in opened) return fail(opened.failure);
      this.#keep(service, session, state, opened);
    } catch (e) {
      fail(e instanceof Error ? e.message : String(e));
    } finally {
      this.#waiting.delete(requestId);
    }
  }

  /**
   * How an attempt for `service` fails: the next one waits `retryMs` × `hold`; the reason is said
   * once at info, its repeats (e.g. no direct-capable connector) at debug.
   */
  #failer(service: string, state: PathState): Fail {
    const { log, retryMs } = this.options;
    return (
      reason,
      message = "Direct path to {service} failed: {reason}; using the relay",
      hold = 1,
    ) => {
      state.nextTryAt = Date.now() + retryMs * hold;
      const level = state.lastFailure === reason ? "debug" : "info";
      state.lastFailure = reason;
      log[level](message, { service, reason });
    };
  }

  /** The broker's answer other than `direct_ready`: when to ask again, and why not now. */
  #refused(a: Exclude<Answer, { type: "direct_ready" }>, state: PathState, fail: Fail): void {
    if (a.type === "direct_refused" && a.code === "no_connector") {
      // Not a failure: the relay offers direct paths only through connectors that accept them
      // ([connector] direct = true, off by default); relayed flows are unaffected.
      return fail(
        "no_direct_connector",
        "No direct path to {service}: no connector of it accepts direct paths now " +
          "([connector] direct = true enables them); using the relay",
      );
    }
    if (a.type === "direct_refused") {
      // A refusal that will not heal by itself is asked again ever more rarely (up to 64 ×
      // direct_retry_ms): the relay is not flooded, and access granted later is still found.
      const heals = a.code === "unknown" || ERRORS[a.code].retry;
      const refusals = state.refusals = heals ? 0 : (state.refusals ?? 0) + 1;
      return fail(`relay answered ${a.code}`, undefined, 2 ** Math.min(6, refusals));
    }
    return fail(`relay answered ${a.type}`);
  }

  /** Punches toward the brokered candidates and authenticates with the ticket on the winner. */
  async #open(a: Ready): Promise<LivePath | { failure: string }> {
    const punched = await this.#punch(a);
    if ("failure" in punched) return punched;
    const conn = punched;
    const control = new ControlChannel(await conn.createBidirectionalStream());
    await control.send({
      type: "direct_hello",
      versions: [...PROTOCOL_VERSIONS],
      ticket: a.ticket,
    });
    const welcome = await welcomeOn(control);
    if (!welcome) {
      conn.close({ closeCode: 0, reason: "" });
      return { failure: "connector refused the ticket" };
    }
    return { conn, control, sessionId: a.sessionId, expiresAt: welcome.expiresAt };
  }

  /** Makes `live` the path of `service`: flows take it, renewals keep it, its loss is noticed. */
  #keep(service: string, session: RelaySession, state: PathState, live: LivePath): void {
    const { log, retryMs } = this.options;
    const { conn } = live;
    state.live = live;
    state.lastFailure = undefined;
    state.refusals = 0;
    log.info("Direct path to {service} is up", { service });
    log.debug("Direct path to {service} goes via {address}", {
      service,
      address: `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`,
    });
    report(session, service, "direct");
    this.#scheduleRenewal(service, live);
    conn.closed.catch(() => undefined).finally(() => {
      clearTimeout(live.renewal);
      if (state.live !== live) return;
      state.live = undefined;
      state.nextTryAt = Date.now() + retryMs;
      log.warn("Direct path to {service} lost; using the relay", { service });
      const current = this.options.session();
      if (current) report(current, service, "relay");
    });
  }

  /**
   * Dials every candidate at once; the first handshake wins, the others are closed. Without a
   * winner, says why: every dial refused (a TLS failure names itself: the connector's certificate
   * is not the brokered one) or none answered before the punch deadline (NAT).
   */
  async #punch(a: Ready): Promise<Deno.QuicConn | { failure: string }> {
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
    const outcome = await deadline(
      Promise.any(attempts).then(() => undefined, (e: AggregateError) => e.errors),
      punchTimeoutMs,
    );
    if (winner) return winner;
    // Late winners after the deadline are closed; the relay path is already in use.
    for (const p of attempts) p.then((c) => c.close({ closeCode: 0, reason: "late" }), () => {});
    if (outcome === TIMED_OUT || outcome === undefined) {
      return { failure: "hole punching timed out" };
    }
    const tls = outcome.map(String).find((e) => /certificate|tls|handshake/i.test(e));
    return {
      failure: tls
        ? `the connector's certificate was refused (${tls})`
        : `every candidate refused the connection (${outcome.map(String)[0]})`,
    };
  }

  /** A request id and the promise of the relay's answer to it (or "timeout" after 10 s). */
  #ask(): { requestId: number; answer: Promise<Answer | "timeout"> } {
    const requestId = this.#requestIds++;
    const answer = new Promise<Answer | "timeout">((resolve) => {
      const timer = setTimeout(() => resolve("timeout"), 10_000);
      this.#waiting.set(requestId, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
    });
    return { requestId, answer };
  }

  /** Asks for a fresh ticket shortly before `live` ends; a path bound by its token's end stays so. */
  #scheduleRenewal(service: string, live: LivePath): void {
    const left = live.expiresAt - Date.now();
    live.renewal = setTimeout(
      () => void this.#renew(service, live),
      Math.max(0, left - renewalLeadMs(left)),
    );
  }

  async #renew(service: string, live: LivePath): Promise<void> {
    const { log } = this.options;
    const session = this.options.session();
    if (!session) {
      log.info("Direct path to {service} cannot be renewed without a relay session", { service });
      return;
    }
    const { requestId, answer } = this.#ask();
    try {
      await session.control.send({ type: "direct_renew", requestId, sessionId: live.sessionId });
      const a = await answer;
      if (a === "timeout" || a.type !== "direct_renewed") {
        const why = a === "timeout" ? "no answer" : a.type === "direct_refused" ? a.code : a.type;
        log.info("Relay did not renew the direct path to {service}: {why}", { service, why });
        return;
      }
      await live.control.send({ type: "direct_refresh", ticket: a.ticket });
      const welcome = await welcomeOn(live.control);
      if (!welcome || welcome.expiresAt <= live.expiresAt) {
        log.debug("Direct path to {service} ends with its token", { service });
        return;
      }
      live.expiresAt = welcome.expiresAt;
      this.#scheduleRenewal(service, live);
    } catch (e) {
      log.info("Renewing the direct path to {service} failed: {error}", {
        service,
        error: e instanceof Error ? e.message : String(e),
      });
    } finally {
      this.#waiting.delete(requestId);
    }
  }
}

/** The connector's next `direct_welcome` on a path's control stream (5 s at most). */
async function welcomeOn(
  control: ControlChannel,
): Promise<Extract<ControlMessage, { type: "direct_welcome" }> | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const answer = await Promise.race([
    control.next().catch(() => null),
    new Promise<null>((r) => timer = setTimeout(() => r(null), 5_000)),
  ]).finally(() => clearTimeout(timer));
  return answer?.type === "direct_welcome" ? answer : undefined;
}

/** Tells the relay which path a service's flows take; best effort. */
function report(session: RelaySession, service: string, path: "direct" | "relay"): void {
  session.control.send({ type: "path_report", service, path }).catch(() => {});
}
