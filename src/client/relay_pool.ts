/**
 * The client's connections to one relay: the primary session (control, direct paths, login) and,
 * when its stream credit (the relay's `max_streams_per_connection`) is used up, further connections
 * authenticated with the same token, up to `max_relay_connections` or until the relay refuses one
 * (`max_connections_per_identity`). Only at that ceiling does a flow wait for a free stream. An
 * extra connection closes once it has carried no flow for `idleCloseMs`. Design: docs/PROTOCOL.md,
 * "Flow capacity of one client". With a TCP lane (`dialLane`: a TLS-over-TCP link to the same relay
 * beside a QUIC primary), TCP flows open there first; UDP flows, and TCP flows the lane cannot take,
 * stay on the QUIC connections ("TCP lane" in docs/PROTOCOL.md).
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { DialError, type RelaySession } from "../transport/mod.ts";
import type { ByteStream } from "../transport/mod.ts";
import { type StreamLease, type StreamSource, tryStream } from "./stream_lease.ts";

/** The client's relay session with the pool its flows open streams from. */
export type PooledSession = RelaySession & { streams: RelayPool };

/** Options of {@link RelayPool}. */
export interface RelayPoolOptions {
  /** Dials and authenticates one more connection to the primary's relay. @throws {DialError} */
  dial(): Promise<RelaySession>;
  /** Connections (primary included) this pool may hold. */
  maxConnections: number;
  /** An extra connection without flows closes after this long, in milliseconds. */
  idleCloseMs: number;
  /**
   * Dials and authenticates the TCP lane (TLS over TCP to the same relay, same token); absent: no
   * lane. It counts among `maxConnections`. @throws {DialError}
   */
  dialLane?(): Promise<RelaySession>;
  /** After the lane failed or closed, the next try waits about this long. @default {30000} */
  laneRetryMs?: number;
  log: Logger;
}

interface Member {
  session: RelaySession;
  flows: number;
  primary: boolean;
  /** The TCP lane: carries TCP flows only, never idles out while the pool lives. */
  lane?: boolean;
  closed: boolean;
  idle?: ReturnType<typeof setTimeout>;
  /** Called when the relay answers a login refresh on this connection (or it closes). */
  answered?: () => void;
}

/** After a failed dial (not a refusal), no new dial for this long: flows wait for streams instead. */
const DIAL_PAUSE_MS = 1_000;

/** A flow tries to get a further connection this long before it waits for a free stream instead. */
const GROW_WAIT_MS = 10_000;

/** Sort key of a connection carrying `flows`: fullest with credit first, full ones last. */
function rank(flows: number, perConnection: number): number {
  return flows < perConnection ? perConnection - flows : perConnection + flows;
}

/** The connections of one primary session; retired when that session ends. */
export class RelayPool implements StreamSource {
  readonly #members: Member[] = [];
  readonly #options: RelayPoolOptions;
  /** Streams one connection carries for flows (its credit minus the control stream). */
  readonly #perConnection: number;
  #dialing = 0;
  /** Flows waiting for a dial to finish. */
  #needing = 0;
  #dialed: PromiseWithResolvers<void> = Promise.withResolvers();
  /** The relay refused a connection for this identity's cap; cleared when one of ours closes. */
  #capped = false;
  #pausedUntil = 0;
  #retired = false;
  #waitLogged = false;
  #next = 0;
  #lane: Member | undefined;
  #laneLogged = false;
  #laneTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(primary: RelaySession, options: RelayPoolOptions) {
    this.#options = options;
    this.#perConnection = Math.max(1, primary.welcome.limits.maxStreams - 1);
    this.#members.push({ session: primary, flows: 0, primary: true, closed: false });
    if (options.dialLane) void this.#openLane();
  }

  /** The TCP lane's link while it is open (for logs and tests). */
  get lane(): RelaySession | undefined {
    return this.#lane && !this.#lane.closed ? this.#lane.session : undefined;
  }

  /** Live connections, primary included (for logs and tests). */
  get size(): number {
    return this.#members.length;
  }

  /** The extra connections that are still open (a login refresh is sent on each of them too). */
  get extras(): RelaySession[] {
    return this.#members.filter((m) => !m.primary && !m.closed).map((m) => m.session);
  }

  /** Stops growing; extra connections close as soon as their flows end. */
  retire(): void {
    this.#retired = true;
    clearTimeout(this.#laneTimer);
    for (const m of this.#members) if (!m.primary && m.flows === 0) this.#close(m, "retired");
    this.#dialed.resolve();
  }

  async openStream(
    service: string,
    log?: Logger,
    protocol: "tcp" | "udp" = "tcp",
  ): Promise<StreamLease> {
    const onLane = protocol === "tcp" ? await this.#laneStream() : undefined;
    if (onLane) return onLane;
    const growUntil = Date.now() + GROW_WAIT_MS;
    while (true) {
      // Fullest first among those with credit left, so idle extras drain and close; the ones
      // known to be full last (their credit may have come back, which only trying tells).
      const order = [...this.#members].sort((a, b) =>
        rank(a.flows, this.#perConnection) - rank(b.flows, this.#perConnection)
      );
      for (const m of order) {
        if (m.closed || m.lane) continue;
        let stream: ByteStream | undefined;
        try {
          stream = await tryStream(m.session.conn);
        } catch {
          this.#lost(m);
          continue;
        }
        if (stream) return this.#lease(m, stream);
      }
      if (this.#members.every((m) => m.closed)) throw new Error("No relay connection left");
      // At the ceiling (or growing for too long: a relay that keeps failing our dials) the flow
      // waits for a free stream instead.
      if (this.#atCeiling() || Date.now() >= growUntil) break;
      this.#needing++;
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        this.#grow();
        // Woken by the next dial that ends, or after a pause (a failed dial pauses dialing).
        await Promise.race([
          this.#dialed.promise,
          new Promise((r) => timer = setTimeout(r, DIAL_PAUSE_MS)),
        ]);
      } finally {
        clearTimeout(timer);
        this.#needing--;
      }
    }
    return await this.#waitForStream(service, log);
  }

  /** A stream on the TCP lane, or undefined when there is none or it has no credit now. */
  async #laneStream(): Promise<StreamLease | undefined> {
    const lane = this.#lane;
    if (!lane || lane.closed) return undefined;
    try {
      const stream = await tryStream(lane.session.conn);
      return stream ? this.#lease(lane, stream) : undefined;
    } catch {
      // This flow's TLS connection failed (a dead link is noticed by #watch): QUIC takes it.
      return undefined;
    }
  }

  /**
   * Dials the TCP lane; when that fails, or later when the lane closes, tries again after about
   * `laneRetryMs` while the pool lives. Flows meanwhile take QUIC; the first failure is logged.
   */
  async #openLane(): Promise<void> {
    const { log, dialLane } = this.#options;
    if (!dialLane || this.#retired) return;
    try {
      const session = await dialLane();
      if (this.#retired) {
        session.conn.close({ closeCode: 0, reason: "retired" });
        return;
      }
      const m: Member = { session, flows: 0, primary: false, lane: true, closed: false };
      this.#members.push(m);
      this.#lane = m;
      log.info("TCP lane open: TCP flows to this relay ride TLS over TCP, UDP flows stay on QUIC");
      await this.#watch(m);
      if (this.#retired) return;
      this.#noteLaneDown("it closed");
    } catch (e) {
      this.#noteLaneDown(e instanceof Error ? e.message : String(e));
    }
    if (this.#retired) return;
    const ms = Math.round((this.#options.laneRetryMs ?? 30_000) * (0.75 + Math.random() / 2));
    this.#laneTimer = setTimeout(() => void this.#openLane(), ms);
  }

  #noteLaneDown(why: string): void {
    if (this.#laneLogged) return;
    this.#laneLogged = true;
    this.#options.log.warn(
      "TCP lane to the relay not available ({why}): TCP flows use QUIC, retrying in the background",
      { why },
    );
  }

  /** No further connection will come: the pool is retired, full, or the relay refused one. */
  #atCeiling(): boolean {
    return this.#retired || this.#capped || this.#members.length >= this.#options.maxConnections;
  }

  #canGrow(): boolean {
    return !this.#atCeiling() && Date.now() >= this.#pausedUntil &&
      this.#members.length + this.#dialing < this.#options.maxConnections;
  }

  /**
   * Starts as many dials as the waiting flows fill, plus one: flows arrive faster than handshakes
   * finish, so a burst would otherwise climb one connection at a time.
   */
  #grow(): void {
    const wanted = Math.ceil(this.#needing / this.#perConnection) + 1;
    while (this.#dialing < wanted && this.#canGrow()) {
      this.#dialing++;
      void this.#dialOne();
    }
  }

  /** Free flow streams over all live connections. */
  #free(): number {
    let free = 0;
    for (const m of this.#members) {
      if (!m.closed && !m.lane) free += Math.max(0, this.#perConnection - m.flows);
    }
    return free;
  }

  async #dialOne(): Promise<void> {
    const { log } = this.#options;
    try {
      const session = await this.#options.dial();
      if (this.#retired) {
        session.conn.close({ closeCode: 0, reason: "retired" });
        return;
      }
      const m: Member = { session, flows: 0, primary: false, closed: false };
      this.#members.push(m);
      log.info("Opened relay connection {n} of at most {max}: the others have no free stream", {
        n: this.#members.length,
        max: this.#options.maxConnections,
      });
      this.#startIdle(m);
      void this.#watch(m);
    } catch (e) {
      if (
        e instanceof DialError && e.failure.kind === "refused" &&
        e.failure.code === "limit_exceeded"
      ) {
        this.#capped = true;
        log.warn(
          "The relay refused connection {n} of this client (max_connections_per_identity): " +
            "{n1} connections × {streams} flows is the ceiling, further flows wait for a free stream",
          {
            n: this.#members.length + 1,
            n1: this.#members.length,
            streams: this.#perConnection,
          },
        );
      } else {
        this.#pausedUntil = Date.now() + DIAL_PAUSE_MS;
        log.warn("Could not open another relay connection: {error}", {
          error: e instanceof Error ? e.message : String(e),
        });
      }
    } finally {
      this.#dialing--;
      const done = this.#dialed;
      this.#dialed = Promise.withResolvers();
      done.resolve();
    }
  }

  /**
   * Sends a login refresh on every extra connection (the lane too) and waits until each answered
   * it, at most `timeoutMs`: once the primary then answers, every connection holds the new grants.
   */
  async refreshExtras(send: (s: RelaySession) => Promise<void>, timeoutMs: number): Promise<void> {
    const extras = this.#members.filter((m) => !m.primary && !m.closed);
    await Promise.all(extras.map(async (m) => {
      const answered = new Promise<void>((r) => m.answered = r);
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await send(m.session);
        await Promise.race([answered, new Promise((r) => timer = setTimeout(r, timeoutMs))]);
      } catch {
        /* closed meanwhile */
      } finally {
        clearTimeout(timer);
        m.answered = undefined;
      }
    }));
  }

  /**
   * Reads what the relay says on an extra connection's control stream until it ends: answers to a
   * login refresh wake {@link refreshExtras}; the rest (observed addresses) is dropped.
   */
  async #watch(m: Member): Promise<void> {
    while (true) {
      const msg = await m.session.control.next().catch(() => null);
      if (msg === null) break;
      if (msg.type === "login_refreshed" || msg.type === "login_refused") m.answered?.();
    }
    m.answered?.();
    await m.session.conn.closed.catch(() => undefined);
    this.#lost(m);
  }

  #lost(m: Member): void {
    if (m.closed) return;
    m.closed = true;
    clearTimeout(m.idle);
    const i = this.#members.indexOf(m);
    if (i >= 0) this.#members.splice(i, 1);
    // One of our connections is gone: the relay may admit another.
    this.#capped = false;
  }

  #close(m: Member, reason: string): void {
    if (m.closed) return;
    try {
      m.session.conn.close({ closeCode: 0, reason });
    } catch { /* already closed */ }
    this.#lost(m);
  }

  #startIdle(m: Member): void {
    clearTimeout(m.idle);
    if (m.primary) return;
    if (this.#retired) return this.#close(m, "retired");
    if (m.lane) return;
    m.idle = setTimeout(() => {
      if (m.flows === 0) this.#close(m, "idle");
    }, this.#options.idleCloseMs);
  }

  #lease(m: Member, stream: ByteStream): StreamLease {
    m.flows++;
    clearTimeout(m.idle);
    // Stay ahead of demand: with less than a quarter of a connection free, dial the next one now,
    // so a steady ramp of flows never waits for a handshake.
    if (this.#dialing === 0 && this.#free() < this.#perConnection / 4 && this.#canGrow()) {
      this.#dialing++;
      void this.#dialOne();
    }
    let released = false;
    return {
      stream,
      conn: m.session.conn,
      release: () => {
        if (released) return;
        released = true;
        m.flows--;
        if (m.flows === 0) this.#startIdle(m);
      },
    };
  }

  /** At the ceiling: waits for a free stream on one connection, round robin, and says so once. */
  async #waitForStream(service: string, log?: Logger): Promise<StreamLease> {
    const live = this.#members.filter((m) => !m.closed && !m.lane);
    const m = live[this.#next++ % live.length];
    if (!this.#waitLogged) {
      this.#waitLogged = true;
      log?.warn(
        "Flow to {service} waits for a free stream: the relay allows no more on this connection " +
          "(max_streams_per_connection), and no further connection ({connections} open)",
        { service, connections: live.length },
      );
    }
    const stream = await m.session.conn.createBidirectionalStream({ waitUntilAvailable: true });
    return this.#lease(m, stream);
  }
}
