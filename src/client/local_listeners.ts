/**
 * The client's local side: one TCP listener or UDP socket per `[[client.forward]]` and the SOCKS5 /
 * HTTP CONNECT endpoints, opened and closed to match the config at start and at each reload.
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { parseHostPort } from "../protocol/address.ts";
import type { ErrorCode } from "../protocol/mod.ts";
import type { ClientConfig, ClientForwardConfig } from "../config/schema.ts";
import { openFlow } from "./open_flow.ts";
import { serveProxyConn } from "./proxy_endpoint.ts";
import type { SessionHolder } from "./session_holder.ts";
import { UdpForward } from "./udp_forward.ts";
import { clientStats } from "./stats.ts";
import type { DirectPaths } from "../p2p/mod.ts";
import { bindLocal } from "./bind_local.ts";
import { clientEndpointCredentials } from "../config/endpoint_credentials.ts";
import { type AuthFailureLimits, AuthFailures } from "./auth_failures.ts";

/**
 * How long the client waits for the REPLY to an OPEN. The relay answers by itself well before: it
 * may wait `connector_wait_ms` (5 s) for a connector, try several pool members (1 s each without an
 * ACCEPT) and give the chosen one `flow_open_timeout_ms` (10 s). A relay that died meanwhile is
 * noticed by the idle timeout long before this, and the flow moves to the next relay connection.
 */
export const REPLY_TIMEOUT_MS = 30_000;

/** One local listener or UDP socket the client holds open. */
interface Listening {
  close(): void;
  /** Set for a SOCKS5 or HTTP CONNECT endpoint: what the grants line names. */
  proxy?: ProxyPlace;
}

/** Where a SOCKS5 or HTTP CONNECT endpoint listens. */
export interface ProxyPlace {
  kind: "socks" | "http";
  listen: string;
}

/** What the listeners need from the client that owns them. */
export interface LocalListenersDeps {
  holder: SessionHolder;
  directPaths: DirectPaths | undefined;
  /** The relay's last refusal of this client, when it will not heal by itself. */
  refusal(): ErrorCode | undefined;
  log: Logger;
}

/** The forwards and proxy endpoints in use, with the flows they carry; an owner of its lifetime. */
export class LocalListeners implements AsyncDisposable {
  /** Each listener by what it is; a reload closes the ones gone and opens the new ones. */
  readonly #active = new Map<string, Listening>();
  /** Accept loops and UDP forwards, awaited at stop (a removed one's ends when it closes). */
  readonly #running = new Set<Promise<void>>();
  readonly #flows = new Set<Promise<unknown>>();
  #config: ClientConfig;
  /** Wrong endpoint credentials by source address: one table for both endpoints, kept on reload. */
  readonly #authFailures: AuthFailures;

  constructor(config: ClientConfig, readonly deps: LocalListenersDeps) {
    this.#config = config;
    this.#authFailures = new AuthFailures(authLimits(config));
  }

  /** The config whose forwards and endpoints are open (the start one, then each reload's). */
  get config(): ClientConfig {
    return this.#config;
  }

  /** The SOCKS5 and HTTP CONNECT endpoints listening now. */
  proxies(): ProxyPlace[] {
    return [...this.#active.values()].flatMap((l) => l.proxy ? [l.proxy] : []);
  }

  /**
   * Opens what `next` names and is not open; closes what is open and `next` does not name. At start
   * (`reloading` false) a bind error closes everything and throws; on reload it is logged and the
   * rest of the reload still applies.
   * @throws {import("./bind_local.ts").ForwardBindError} at start, for an address it cannot bind
   */
  apply(next: ClientConfig, reloading: boolean): void {
    const { log } = this.deps;
    const wanted = new Map<string, () => Listening>();
    for (const f of next.forward) {
      wanted.set(
        `forward ${f.protocol} ${f.listen} ${f.service}`,
        () => f.protocol === "tcp" ? this.#startTcpForward(f) : this.#startUdpForward(f),
      );
    }
    const { socks, http_proxy: http } = next;
    if (socks) wanted.set(`socks ${socks}`, () => this.#startProxy("socks", socks));
    if (http) wanted.set(`http ${http}`, () => this.#startProxy("http", http));
    // Close first, so a listen address that moved to another service can be bound again.
    for (const [key, listening] of this.#active) {
      if (wanted.has(key)) continue;
      listening.close();
      this.#active.delete(key);
      log.info("Reload: stopped listening for {what} (its open flows go on)", { what: key });
    }
    for (const [key, start] of wanted) {
      if (this.#active.has(key)) continue;
      try {
        this.#active.set(key, start());
        if (reloading) log.info("Reload: now listening for {what}", { what: key });
      } catch (error) {
        if (!reloading) {
          this.close();
          throw error;
        }
        // One address that cannot be bound must not undo the rest of the reload.
        log.error("Reload: {error}", { error: error instanceof Error ? error.message : error });
      }
    }
    this.#config = next;
    this.#authFailures.setLimits(authLimits(next));
  }

  /** Stops listening everywhere; open flows go on until they end. Idempotent. */
  close(): void {
    for (const listening of this.#active.values()) listening.close();
    this.#active.clear();
  }

  /** Closes the listeners and waits for their loops, and for open flows up to `flowGraceMs`. */
  async finish(flowGraceMs: number): Promise<void> {
    this.close();
    await Promise.all([...this.#running]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.#flows),
      new Promise((r) => timer = setTimeout(r, flowGraceMs)),
    ]);
    clearTimeout(timer);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.finish(2_000);
  }

  #track(p: Promise<void>): void {
    const tracked = p.catch((error) => this.deps.log.error("{error}", { error })).finally(() =>
      this.#running.delete(tracked)
    );
    this.#running.add(tracked);
  }

  #flow(p: Promise<unknown>): void {
    const tracked = p.finally(() => this.#flows.delete(tracked));
    this.#flows.add(tracked);
  }

  /** Runs `accept` on each connection of `listener` until it closes (a reload or the stop). */
  #acceptLoop(listener: Deno.Listener, accept: (tcp: Deno.TcpConn) => Promise<unknown>): void {
    this.#track((async () => {
      try {
        for await (const tcp of listener) {
          (tcp as Deno.TcpConn).setNoDelay(true);
          this.#flow(accept(tcp as Deno.TcpConn));
        }
      } catch (error) {
        // A listener closed by a reload ends its loop with BadResource: that is the intent.
        if (!(error instanceof Deno.errors.BadResource)) throw error;
      }
    })());
  }

  #startTcpForward(f: ClientForwardConfig): Listening {
    const addr = parseHostPort(f.listen);
    if (!addr.ok) throw new RangeError(`client.forward listen: ${addr.reason}`);
    const listener = bindLocal(
      f,
      () => Deno.listen({ hostname: addr.value.hostname, port: addr.value.port, transport: "tcp" }),
    );
    const bound = listener.addr;
    this.deps.log.info("Forwarding {listen} to service {service}", {
      listen: `${bound.hostname}:${bound.port}`,
      service: f.service,
    });
    this.#acceptLoop(listener, (tcp) => this.#forwardTcp(tcp, f.service));
    return { close: () => listener.close() };
  }

  async #forwardTcp(tcp: Deno.TcpConn, service: string): Promise<void> {
    const { holder, directPaths, log } = this.deps;
    const { relay_wait_ms: relayWaitMs } = this.#config;
    const refusal = this.deps.refusal();
    // After a refusal that will not heal (revoked, expired, wrong role) waiting is pointless: close
    // at once and say why, instead of a silent empty reply 5 s later.
    const session = refusal === undefined ? await holder.wait(relayWaitMs) : holder.current;
    if (!session) {
      if (refusal === undefined) {
        log.warn(
          "Closed a local connection for {service}: no relay connection within {waitMs} ms",
          { service, waitMs: relayWaitMs },
        );
      } else {
        log.warn(
          "Closed a local connection for {service}: the relay refused this client ({code}); it " +
            "needs a new token (ztna admin token issue --role client --service {service})",
          { service, code: refusal },
        );
      }
      clientStats.dropped(service, refusal ?? "no_relay");
      tcp.close();
      return;
    }
    const direct = directPaths?.get(service);
    await openFlow(tcp, {
      session,
      service,
      replyTimeoutMs: REPLY_TIMEOUT_MS,
      log,
      ...(direct ? { direct } : {}),
      holder,
      relayWaitMs,
    });
  }

  #startUdpForward(f: ClientForwardConfig): Listening {
    const addr = parseHostPort(f.listen);
    if (!addr.ok) throw new RangeError(`client.forward listen: ${addr.reason}`);
    const socket = bindLocal(
      f,
      () =>
        Deno.listenDatagram({
          hostname: addr.value.hostname,
          port: addr.value.port,
          transport: "udp",
        }),
    );
    const bound = socket.addr as Deno.NetAddr;
    const { holder, directPaths, log } = this.deps;
    log.info("Forwarding {listen} to service {service} (udp)", {
      listen: `${bound.hostname}:${bound.port}`,
      service: f.service,
    });
    const config = this.#config;
    const forward = new UdpForward(socket, holder, {
      service: f.service,
      idleMs: config.udp_idle_timeout_ms,
      maxFlows: config.max_udp_flows,
      queueDepth: config.udp_queue_depth,
      sessionWaitMs: config.relay_wait_ms,
      replyTimeoutMs: REPLY_TIMEOUT_MS,
      direct: directPaths && ((service) => directPaths.get(service)),
      log,
    });
    this.#track(forward.run());
    return { close: () => socket.close() };
  }

  #startProxy(kind: "socks" | "http", listen: string): Listening {
    const addr = parseHostPort(listen);
    if (!addr.ok) throw new RangeError(`client.${kind}: ${addr.reason}`);
    const listener = bindLocal(
      { listen, protocol: "tcp", key: kind === "socks" ? "client.socks" : "client.http_proxy" },
      () => Deno.listen({ hostname: addr.value.hostname, port: addr.value.port }),
    );
    const bound = listener.addr;
    const where = `${bound.hostname}:${bound.port}`;
    const { holder, directPaths, log } = this.deps;
    const config = this.#config;
    log.info("{kind} endpoint listening on {listen}: services by name (id or id.{suffix})", {
      kind: kind === "socks" ? "SOCKS5" : "HTTP CONNECT",
      listen: where,
      suffix: config.service_suffix,
    });
    this.#acceptLoop(listener, (tcp) =>
      serveProxyConn(tcp, {
        kind,
        suffix: config.service_suffix,
        holder,
        relayWaitMs: config.relay_wait_ms,
        replyTimeoutMs: REPLY_TIMEOUT_MS,
        ...(directPaths ? { direct: (service: string) => directPaths.get(service) } : {}),
        ...(kind === "socks"
          ? { udp: { idleMs: config.udp_idle_timeout_ms, queueDepth: config.udp_queue_depth } }
          : {}),
        // Read for each connection: a changed credentials file applies to the next one.
        credentials: () => clientEndpointCredentials(this.#config),
        authFailures: this.#authFailures,
        log,
      }));
    return { close: () => listener.close(), proxy: { kind, listen: where } };
  }
}

/** The guessing limit of the proxy endpoints in `config`. */
function authLimits(config: ClientConfig): AuthFailureLimits {
  return {
    maxFailures: config.endpoint_auth_failures,
    windowMs: config.endpoint_auth_window_ms,
  };
}
