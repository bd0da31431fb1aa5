/**
 * The client role: one session with the first reachable relay (the next one on failure), and a
 * local TCP listener or UDP socket per `[[client.forward]]` whose traffic becomes flows.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RunContext } from "../runtime/run_context.ts";
import { parseHostPort } from "../protocol/address.ts";
import type { ClientConfig, ClientForwardConfig } from "../config/schema.ts";
import { readCaBundle } from "../config/files.ts";
import { openFlow } from "./open_flow.ts";
import { type PooledSession, RelayPool } from "./relay_pool.ts";
import { serveProxyConn } from "./proxy_endpoint.ts";
import { SessionHolder } from "./session_holder.ts";
import { UdpForward } from "./udp_forward.ts";
import { type ClientLiveState, clientStats } from "./stats.ts";
import { DirectPaths } from "./direct_paths.ts";
import { DeviceLogin, LoginError } from "./device_login.ts";
import { LoginSession } from "./login_session.ts";
import { type ControlMessage, type ErrorCode, ERRORS } from "../protocol/mod.ts";
import {
  dialRelay,
  helloRelay,
  keepConnected,
  noteObserved,
  type RelaySession,
  runRelaySession,
  type SessionEnd,
} from "../transport/mod.ts";

const log = getLogger(["ztna", "client"]);

/**
 * How long the client waits for the REPLY to an OPEN. The relay answers by itself well before: it
 * may wait `connector_wait_ms` (5 s) for a connector, try several pool members (1 s each without an
 * ACCEPT) and give the chosen one `flow_open_timeout_ms` (10 s). A relay that died meanwhile is
 * noticed by the idle timeout long before this, and the flow moves to the next relay connection.
 */
const REPLY_TIMEOUT_MS = 30_000;

/**
 * An extra relay connection (opened when the others had no free stream) closes after carrying no
 * flow this long: long enough that a pool of short connections (HTTP, database) does not dial on
 * every burst, short enough that the relay soon gets its memory back.
 */
const EXTRA_CONNECTION_IDLE_MS = 30_000;

/** Keys of `[client]` a reload applies; the others need a restart. */
const RELOADABLE: readonly string[] = ["forward", "socks", "http_proxy"];

/** One local listener or UDP socket the client holds open. */
interface Listening {
  close(): void;
  /** Set for a SOCKS5 or HTTP CONNECT endpoint: what the grants line names. */
  proxy?: { kind: "socks" | "http"; listen: string };
}

/** Options of {@link runClient}. */
export interface RunClientOptions {
  /** On SIGHUP: the config main.ts re-read (already checked against the sandbox), if any. */
  reloadedConfig?(): ClientConfig | undefined;
}

/**
 * Runs the client until `ctx.signal` aborts. On reload it opens and closes forwards and proxy
 * endpoints to match the re-read config; flows on listeners that stay are not touched.
 */
export async function runClient(
  config: ClientConfig,
  token: string,
  ctx: RunContext,
  options: RunClientOptions = {},
): Promise<void> {
  const caCerts = config.ca ? [await readCaBundle(config.ca)] : undefined;
  const holder = new SessionHolder();
  const deviceLogin = config.login
    ? new DeviceLogin(
      config.login,
      config.login.ca ? [await readCaBundle(config.login.ca)] : caCerts,
      log,
    )
    : undefined;
  const loginSession = deviceLogin
    ? new LoginSession({
      login: deviceLogin,
      log,
      signal: ctx.signal,
      send: () => {
        const current = holder.current as PooledSession | undefined;
        if (!current) return undefined;
        // Every connection of the session was authenticated with an issued token that ends: each
        // gets the refresh, so flows on further connections outlive the first token too. The
        // relay answers each; only the primary connection's answer is read.
        return async (msg) => {
          for (const extra of current.streams?.extras ?? []) {
            void extra.control.send(msg).catch(() => {});
          }
          await current.control.send(msg);
        };
      },
    })
    : undefined;
  // One endpoint for the relay connection and direct paths: the address the relay observes is the
  // NAT mapping the connector punches toward.
  const endpoint = config.direct
    ? new Deno.QuicEndpoint({ hostname: "0.0.0.0", port: 0 })
    : undefined;
  const directPaths = endpoint
    ? new DirectPaths({
      endpoint,
      retryMs: config.direct_retry_ms,
      punchTimeoutMs: config.direct_punch_timeout_ms,
      idleTimeoutMs: config.direct_idle_timeout_ms,
      session: () => holder.current,
      log,
    })
    : undefined;
  /** The forwards and endpoints in use: the start config's, then each reload's. */
  let current = config;
  const directServices = () => [...new Set(current.forward.map((f) => f.service))];
  const probe = () => {
    const session = holder.current;
    if (!session || !directPaths) return;
    for (const service of directServices()) directPaths.ensure(service, session);
  };
  const prober = directPaths
    ? setInterval(probe, Math.max(500, Math.min(config.direct_retry_ms, 5_000)))
    : undefined;

  /** The relay's last refusal of this client, when it will not heal by itself. */
  let refusal: ErrorCode | undefined;
  const flows = new Set<Promise<unknown>>();
  /** Accept loops and UDP forwards, awaited at stop (a removed one's ends when it closes). */
  const running = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    const tracked = p.catch((error) => log.error("{error}", { error })).finally(() =>
      running.delete(tracked)
    );
    running.add(tracked);
  };
  /** Each listener by what it is; a reload closes the ones gone and opens the new ones. */
  const active = new Map<string, Listening>();

  const startTcpForward = (f: ClientForwardConfig): Listening => {
    const addr = parseHostPort(f.listen);
    if (!addr.ok) throw new RangeError(`client.forward listen: ${addr.reason}`);
    const listener = bindLocal(
      f,
      () => Deno.listen({ hostname: addr.value.hostname, port: addr.value.port, transport: "tcp" }),
    );
    const bound = listener.addr;
    log.info("Forwarding {listen} to service {service}", {
      listen: `${bound.hostname}:${bound.port}`,
      service: f.service,
    });
    const service = f.service;
    track((async () => {
      try {
        for await (const tcp of listener) {
          tcp.setNoDelay(true);
          const p = (async () => {
            // After a refusal that will not heal (revoked, expired, wrong role) waiting is
            // pointless: close at once and say why, instead of a silent empty reply 5 s later.
            const session = refusal === undefined
              ? await holder.wait(config.relay_wait_ms)
              : holder.current;
            if (!session) {
              if (refusal === undefined) {
                log.warn(
                  "Closed a local connection for {service}: no relay connection within {waitMs} ms",
                  { service, waitMs: config.relay_wait_ms },
                );
              } else {
                log.warn(
                  "Closed a local connection for {service}: the relay refused this client " +
                    "({code}); it needs a new token (ztna admin token issue --role client " +
                    "--service {service})",
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
              relayWaitMs: config.relay_wait_ms,
            });
          })().finally(() => flows.delete(p));
          flows.add(p);
        }
      } catch (error) {
        // A listener closed by a reload ends its loop with BadResource: that is the intent.
        if (!(error instanceof Deno.errors.BadResource)) throw error;
      }
    })());
    return { close: () => listener.close() };
  };

  const startUdpForward = (f: ClientForwardConfig): Listening => {
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
    log.info("Forwarding {listen} to service {service} (udp)", {
      listen: `${bound.hostname}:${bound.port}`,
      service: f.service,
    });
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
    track(forward.run());
    return { close: () => socket.close() };
  };

  const startProxy = (kind: "socks" | "http", listen: string): Listening => {
    const addr = parseHostPort(listen);
    if (!addr.ok) throw new RangeError(`client.${kind}: ${addr.reason}`);
    const listener = bindLocal(
      { listen, protocol: "tcp", key: kind === "socks" ? "client.socks" : "client.http_proxy" },
      () => Deno.listen({ hostname: addr.value.hostname, port: addr.value.port }),
    );
    const bound = listener.addr;
    const where = `${bound.hostname}:${bound.port}`;
    log.info("{kind} endpoint listening on {listen}: services by name (id or id.{suffix})", {
      kind: kind === "socks" ? "SOCKS5" : "HTTP CONNECT",
      listen: where,
      suffix: config.service_suffix,
    });
    track((async () => {
      try {
        for await (const tcp of listener) {
          tcp.setNoDelay(true);
          const p = serveProxyConn(tcp, {
            kind,
            suffix: config.service_suffix,
            holder,
            relayWaitMs: config.relay_wait_ms,
            replyTimeoutMs: REPLY_TIMEOUT_MS,
            ...(directPaths ? { direct: (service: string) => directPaths.get(service) } : {}),
            ...(kind === "socks"
              ? { udp: { idleMs: config.udp_idle_timeout_ms, queueDepth: config.udp_queue_depth } }
              : {}),
            log,
          }).finally(() => flows.delete(p));
          flows.add(p);
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.BadResource)) throw error;
      }
    })());
    return { close: () => listener.close(), proxy: { kind, listen: where } };
  };

  /** Opens what `next` names and `active` lacks; closes what `active` has and `next` does not. */
  const apply = (next: ClientConfig, reloading: boolean) => {
    const wanted = new Map<string, () => Listening>();
    for (const f of next.forward) {
      wanted.set(
        `forward ${f.protocol} ${f.listen} ${f.service}`,
        () => f.protocol === "tcp" ? startTcpForward(f) : startUdpForward(f),
      );
    }
    const { socks, http_proxy: http } = next;
    if (socks) wanted.set(`socks ${socks}`, () => startProxy("socks", socks));
    if (http) wanted.set(`http ${http}`, () => startProxy("http", http));
    // Close first, so a listen address that moved to another service can be bound again.
    for (const [key, listening] of active) {
      if (wanted.has(key)) continue;
      listening.close();
      active.delete(key);
      log.info("Reload: stopped listening for {what} (its open flows go on)", { what: key });
    }
    for (const [key, start] of wanted) {
      if (active.has(key)) continue;
      if (!reloading) {
        active.set(key, start());
        continue;
      }
      try {
        active.set(key, start());
        log.info("Reload: now listening for {what}", { what: key });
      } catch (error) {
        // One address that cannot be bound must not undo the rest of the reload.
        log.error("Reload: {error}", { error: error instanceof Error ? error.message : error });
      }
    }
    current = next;
  };
  try {
    apply(config, false);
  } catch (error) {
    for (const listening of active.values()) listening.close();
    throw error;
  }
  const proxies = () => [...active.values()].flatMap((l) => l.proxy ? [l.proxy] : []);
  ctx.signal.addEventListener("abort", () => {
    for (const listening of active.values()) listening.close();
  }, { once: true });
  ctx.onReload(() => {
    const next = options.reloadedConfig?.();
    if (next === undefined || ctx.signal.aborted) return;
    const fixed = Object.keys(next).filter((key) =>
      !RELOADABLE.includes(key) &&
      JSON.stringify(next[key as keyof ClientConfig]) !==
        JSON.stringify(current[key as keyof ClientConfig])
    );
    if (fixed.length > 0) {
      log.warn(
        "Reload: {keys} changed; restart the client to apply it (a reload applies forward, " +
          "socks and http_proxy only)",
        { keys: fixed.map((k) => `client.${k}`).join(", ") },
      );
    }
    apply(
      { ...current, forward: next.forward, socks: next.socks, http_proxy: next.http_proxy },
      true,
    );
  });

  /** The relay of the session in use, for the status endpoint. */
  let relayAddress: string | undefined;
  const live = (): ClientLiveState => {
    const session = holder.current as PooledSession | undefined;
    return {
      relay: session ? relayAddress : undefined,
      relayConnections: session ? 1 + (session.streams?.extras.length ?? 0) : 0,
      forwards: current.forward.map((f) => ({
        listen: f.listen,
        service: f.service,
        protocol: f.protocol,
      })),
      socks: current.socks,
      httpProxy: current.http_proxy,
    };
  };
  const status = config.status_listen
    ? serveStatus(config.status_listen, live, ctx.signal)
    : undefined;

  /** Says once per session which services the token grants and where each is reachable. */
  const describeGrants = (session: RelaySession) => {
    const where = (service: string) => {
      const places = current.forward.filter((f) => f.service === service)
        .map((f) => `${f.listen}${f.protocol === "udp" ? "/udp" : ""}`);
      for (const p of proxies()) {
        places.push(
          `${
            p.kind === "socks" ? "socks5" : "http"
          }://${p.listen} as ${service}.${config.service_suffix}`,
        );
      }
      return places.length > 0 ? places.join(", ") : "not forwarded";
    };
    const granted = session.welcome.services;
    const endpoints = proxies();
    log.info("Token grants {services}", {
      services: granted.includes("*")
        ? `every service${
          endpoints.length > 0 ? ` (by name at ${endpoints.map((p) => p.listen).join(", ")})` : ""
        }`
        : granted.map((s) => `${s} → ${where(s)}`).join("; "),
    });
  };

  let index = 0;
  const attempt = async (): Promise<SessionEnd> => {
    refusal = undefined;
    const target = config.relays[index % config.relays.length];
    let credentials: string | { idToken: string } = token;
    if (loginSession) {
      try {
        credentials = await loginSession.credentials();
      } catch (error) {
        if (ctx.signal.aborted) return { authenticated: false };
        if (!(error instanceof LoginError)) throw error;
        log.error("{error}", { error: error.message });
        return { authenticated: false };
      }
    }
    const end = await runSession(target, config, credentials, caCerts, holder, ctx.signal, {
      endpoint,
      currentToken: () => loginSession?.token,
      onSession: (session) => {
        relayAddress = target.address;
        describeGrants(session);
        loginSession?.onWelcome(session.welcome);
        probe();
      },
      onControl: (m) => {
        if (loginSession?.onControl(m)) return;
        directPaths?.onControl(m);
      },
    });
    if (!end.authenticated || end.code === "going_away") index++;
    refusal = lastingRefusal(end);
    return end;
  };
  await keepConnected(attempt, {
    label: config.relays.map((r) => r.address).join(", "),
    log,
    signal: ctx.signal,
    minMs: config.reconnect_min_ms,
    maxMs: config.reconnect_max_ms,
  });
  clearInterval(prober);
  deviceLogin?.close();
  directPaths?.closeAll();
  await Promise.all([...running]);
  await status?.finished;
  await Promise.race([Promise.all(flows), new Promise((r) => setTimeout(r, 2_000))]);
  log.info("Client stopped");
}

/**
 * Serves `/metrics` and `/status` on `listen` (loopback, checked by the schema) until `signal`.
 * @throws {ForwardBindError} when the address cannot be bound
 */
function serveStatus(
  listen: string,
  live: () => ClientLiveState,
  signal: AbortSignal,
): Deno.HttpServer<Deno.NetAddr> {
  const addr = parseHostPort(listen);
  if (!addr.ok) throw new RangeError(`client.status_listen: ${addr.reason}`);
  return bindLocal({ listen, protocol: "tcp", key: "client.status_listen" }, () =>
    Deno.serve({
      hostname: addr.value.hostname,
      port: addr.value.port,
      signal,
      onListen: (a) =>
        log.info("Status endpoint on http://{listen}/status and /metrics", {
          listen: `${a.hostname}:${a.port}`,
        }),
    }, (req) => {
      const path = new URL(req.url).pathname;
      if (req.method !== "GET") return new Response("GET only\n", { status: 405 });
      if (path === "/metrics") {
        return new Response(clientStats.prometheus(live()), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      }
      if (path === "/status") return Response.json(clientStats.snapshot(live()));
      return new Response("not found: try /status or /metrics\n", { status: 404 });
    }));
}

/** The code of a session end that no retry will change (revoked, expired, invalid, wrong role). */
export function lastingRefusal(end: SessionEnd): ErrorCode | undefined {
  if (end.code === undefined || end.code === "unknown") return undefined;
  return ERRORS[end.code].retry ? undefined : end.code;
}

/** A local forward that cannot bind, worded with its address and the fix. */
export class ForwardBindError extends Error {
  override readonly name = "ForwardBindError";
}

/**
 * Binds one forward's listener.
 * @throws {ForwardBindError} naming the address, the service and what to change
 */
function bindLocal<T>(
  forward: { listen: string; protocol: string } & ({ service: string } | { key: string }),
  bind: () => T,
): T {
  try {
    return bind();
  } catch (error) {
    const what = `${forward.protocol.toUpperCase()} ${forward.listen} (${
      "key" in forward ? forward.key : `client.forward for service ${forward.service}`
    })`;
    if (error instanceof Deno.errors.AddrInUse) {
      throw new ForwardBindError(
        `Cannot listen on ${what}: address in use; another program (or another ztna client) ` +
          `listens there: stop it, or set ${
            "key" in forward ? forward.key : "that forward's listen"
          } to a free port`,
        { cause: error },
      );
    }
    if (
      error instanceof Deno.errors.AddrNotAvailable || error instanceof Deno.errors.PermissionDenied
    ) {
      throw new ForwardBindError(
        `Cannot listen on ${what}: ${error.message.split(" (os error")[0]}; use an address of ` +
          "this host (127.0.0.1 to stay local) and a port above 1023",
        { cause: error },
      );
    }
    throw error;
  }
}

/** Hooks of one relay session used by direct paths. */
export interface SessionHooks {
  endpoint?: Deno.QuicEndpoint;
  /** The newest token issued after a login, for further connections. */
  currentToken?(): string | undefined;
  onSession(session: RelaySession): void;
  onControl(msg: ControlMessage): void;
}

/** Runs one relay session with its pool of connections; `holder` has it while it lives. */
export function runSession(
  target: ClientConfig["relays"][number],
  config: ClientConfig,
  token: string | { idToken: string },
  caCerts: string[] | undefined,
  holder: SessionHolder,
  signal: AbortSignal,
  hooks: SessionHooks,
): Promise<SessionEnd> {
  const dialOptions = {
    caCerts,
    keepAliveMs: config.keepalive_ms,
    idleTimeoutMs: config.idle_timeout_ms,
    endpoint: hooks.endpoint,
  };
  return runRelaySession(target, {
    role: "client",
    token,
    ...dialOptions,
    signal,
    log,
  }, async (relaySession) => {
    // Further connections present the token this session authenticated with (after a login, the
    // one the relay issued), so they carry the same identity and grants.
    const sameToken = relaySession.welcome.issuedToken ?? token;
    const streams = new RelayPool(relaySession, {
      maxConnections: config.max_relay_connections,
      idleCloseMs: EXTRA_CONNECTION_IDLE_MS,
      log,
      dial: async () => {
        const conn = await dialRelay(target, { ...dialOptions, signal });
        try {
          // After a login refresh, the newest issued token: the first may be near its end.
          return await helloRelay(conn, "client", hooks.currentToken?.() ?? sameToken);
        } catch (e) {
          conn.close({ closeCode: 0, reason: "" });
          throw e;
        }
      },
    });
    const session: PooledSession = Object.assign(relaySession, { streams });
    holder.set(session);
    hooks.onSession(session);
    // The relay speaks on the control stream only to answer direct-path requests.
    while (true) {
      const msg = await session.control.next().catch(() => null);
      if (msg === null) break;
      if (msg.type === "observed") noteObserved(session, msg, log);
      else hooks.onControl(msg);
    }
    await session.conn.closed.catch(() => undefined);
    holder.clear(session);
    streams.retire();
  });
}
