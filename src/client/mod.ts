/**
 * The client role: one session with the first reachable relay (the next one on failure), and a
 * local TCP listener or UDP socket per `[[client.forward]]` whose traffic becomes flows.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RunContext } from "../runtime/run_context.ts";
import { parseHostPort } from "../protocol/address.ts";
import type { ClientConfig } from "../config/schema.ts";
import { readCaBundle } from "../config/files.ts";
import { openFlow } from "./open_flow.ts";
import { type PooledSession, RelayPool } from "./relay_pool.ts";
import { serveProxyConn } from "./proxy_endpoint.ts";
import { SessionHolder } from "./session_holder.ts";
import { UdpForward } from "./udp_forward.ts";
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

/** Runs the client until `ctx.signal` aborts. */
export async function runClient(
  config: ClientConfig,
  token: string,
  ctx: RunContext,
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
  const directServices = [...new Set(config.forward.map((f) => f.service))];
  const probe = () => {
    const session = holder.current;
    if (!session || !directPaths) return;
    for (const service of directServices) directPaths.ensure(service, session);
  };
  const prober = directPaths
    ? setInterval(probe, Math.max(500, Math.min(config.direct_retry_ms, 5_000)))
    : undefined;
  const tcpForwards = config.forward.filter((f) => f.protocol === "tcp").map((f) => {
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
    return { listener, service: f.service };
  });
  const udpForwards = config.forward.filter((f) => f.protocol === "udp").map((f) => {
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
    return new UdpForward(socket, holder, {
      service: f.service,
      idleMs: config.udp_idle_timeout_ms,
      maxFlows: config.max_udp_flows,
      queueDepth: config.udp_queue_depth,
      sessionWaitMs: config.relay_wait_ms,
      replyTimeoutMs: REPLY_TIMEOUT_MS,
      direct: directPaths && ((service) => directPaths.get(service)),
      log,
    });
  });
  const proxies = ([["socks", config.socks], ["http", config.http_proxy]] as const).flatMap(
    ([kind, listen]) => {
      if (!listen) return [];
      const addr = parseHostPort(listen);
      if (!addr.ok) throw new RangeError(`client.${kind}: ${addr.reason}`);
      const listener = bindLocal(
        { listen, protocol: "tcp", key: kind === "socks" ? "client.socks" : "client.http_proxy" },
        () => Deno.listen({ hostname: addr.value.hostname, port: addr.value.port }),
      );
      const bound = listener.addr;
      log.info("{kind} endpoint listening on {listen}: services by name (id or id.{suffix})", {
        kind: kind === "socks" ? "SOCKS5" : "HTTP CONNECT",
        listen: `${bound.hostname}:${bound.port}`,
        suffix: config.service_suffix,
      });
      return [{ kind, listener, listen: `${bound.hostname}:${bound.port}` }];
    },
  );
  ctx.signal.addEventListener("abort", () => {
    for (const p of proxies) p.listener.close();
    for (const l of tcpForwards) l.listener.close();
    for (const u of udpForwards) u.socket.close();
  }, { once: true });

  /** The relay's last refusal of this client, when it will not heal by itself. */
  let refusal: ErrorCode | undefined;
  const flows = new Set<Promise<unknown>>();
  const accepting = tcpForwards.map(async ({ listener, service }) => {
    for await (const tcp of listener) {
      tcp.setNoDelay(true);
      const p = (async () => {
        // After a refusal that will not heal (revoked, expired, wrong role) waiting is pointless:
        // close at once and say why, instead of a silent empty reply 5 s later.
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
              "Closed a local connection for {service}: the relay refused this client ({code}); " +
                "it needs a new token (ztna admin token issue --role client --service {service})",
              { service, code: refusal },
            );
          }
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
  });
  const proxying = proxies.map(async ({ kind, listener }) => {
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
  });
  const udpRunning = udpForwards.map((u) => u.run());
  /** Says once per session which services the token grants and where each is reachable. */
  const describeGrants = (session: RelaySession) => {
    const where = (service: string) => {
      const places = config.forward.filter((f) => f.service === service)
        .map((f) => `${f.listen}${f.protocol === "udp" ? "/udp" : ""}`);
      for (const p of proxies) {
        places.push(
          `${
            p.kind === "socks" ? "socks5" : "http"
          }://${p.listen} as ${service}.${config.service_suffix}`,
        );
      }
      return places.length > 0 ? places.join(", ") : "not forwarded";
    };
    const granted = session.welcome.services;
    log.info("Token grants {services}", {
      services: granted.includes("*")
        ? `every service${
          proxies.length > 0 ? ` (by name at ${proxies.map((p) => p.listen).join(", ")})` : ""
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
  await Promise.all([...accepting, ...proxying, ...udpRunning]);
  await Promise.race([Promise.all(flows), new Promise((r) => setTimeout(r, 2_000))]);
  log.info("Client stopped");
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
