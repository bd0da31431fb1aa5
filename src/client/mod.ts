/**
 * The client role: one session with the first reachable relay (the next one on failure), and a
 * local TCP listener or UDP socket per `[[client.forward]]` whose traffic becomes flows.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RunContext } from "../runtime/run_context.ts";
import type { ClientConfig } from "../config/schema.ts";
import { readCaBundle } from "../config/files.ts";
import { dialerProxyCredentials } from "../config/proxy_settings.ts";
import type { PooledSession } from "./relay_pool.ts";
import { SessionHolder } from "./session_holder.ts";
import type { ClientLiveState } from "./stats.ts";
import { LocalListeners } from "./local_listeners.ts";
import { serveStatus } from "./status_server.ts";
import { grantsLine } from "./grants_line.ts";
import { lastingRefusal, runSession } from "./client_session.ts";
import { RelayRotation } from "./relay_rotation.ts";
import { learnPatterns } from "../config/net_pattern.ts";
import { DirectPaths } from "../p2p/mod.ts";
import { DeviceLogin, LoginError } from "./device_login.ts";
import { LoginSession } from "./login_session.ts";
import type { ErrorCode } from "../protocol/mod.ts";
import { keepConnected, linkTransport, type SessionEnd } from "../transport/mod.ts";

export { ForwardBindError } from "./bind_local.ts";
export { lastingRefusal, runSession, type SessionHooks } from "./client_session.ts";

const log = getLogger(["ztna", "client"]);

/** Keys of `[client]` a reload applies; the others need a restart. */
const RELOADABLE: readonly string[] = ["forward", "socks", "http_proxy"];

/** Options of {@link runClient}. */
export interface RunClientOptions {
  /** On SIGHUP: the config main.ts re-read (already checked against the sandbox), if any. */
  reloadedConfig?(): ClientConfig | undefined;
}

/**
 * Runs the client until `ctx.signal` aborts. On reload it opens and closes forwards and proxy
 * endpoints to match the re-read config; flows on listeners that stay are not touched. Each part
 * is an owner on one stack, so the stop undoes the start in reverse (kept as one function, ~100
 * lines, so that order reads top to bottom).
 */
export async function runClient(
  config: ClientConfig,
  token: string,
  ctx: RunContext,
  options: RunClientOptions = {},
): Promise<void> {
  await using parts = new AsyncDisposableStack();
  parts.defer(() => log.info("Client stopped"));
  const caCerts = config.ca ? [await readCaBundle(config.ca)] : undefined;
  const proxyCredentials = await dialerProxyCredentials(config, "client");
  const holder = new SessionHolder();
  const loginSession = config.login
    ? await startLogin(config.login, caCerts, holder, ctx.signal, parts)
    : undefined;
  const { endpoint, directPaths } = config.direct
    ? directPathsFor(config, holder)
    : { endpoint: undefined, directPaths: undefined };

  /** The relay's last refusal of this client, when it will not heal by itself. */
  let refusal: ErrorCode | undefined;
  const listeners = parts.use(
    new LocalListeners(config, { holder, directPaths, refusal: () => refusal, log }),
  );
  listeners.apply(config, false);
  // Direct paths close before the listeners wait for their flows, so those on them end at once.
  if (directPaths) parts.defer(() => directPaths.closeAll());
  ctx.signal.addEventListener("abort", () => listeners.close(), { once: true });
  ctx.onReload(() => {
    const next = options.reloadedConfig?.();
    if (next !== undefined && !ctx.signal.aborted) reload(listeners, next);
  });

  const probe = () => {
    const session = holder.current;
    if (!session || !directPaths) return;
    const services = new Set(listeners.config.forward.map((f) => f.service));
    for (const service of services) directPaths.ensure(service, session);
  };
  if (directPaths) {
    const prober = setInterval(probe, Math.max(500, Math.min(config.direct_retry_ms, 5_000)));
    parts.defer(() => clearInterval(prober));
  }

  /** The relay of the session in use, for the status endpoint. */
  let relayAddress: string | undefined;
  const live = () => liveState(holder, listeners.config, relayAddress);
  if (config.status_listen) {
    const status = serveStatus(config.status_listen, live, ctx.signal, log);
    parts.defer(() => status.finished);
  }

  const rotation = new RelayRotation(config.relays, {
    patterns: learnPatterns(config.learn_relays),
    log,
  });
  parts.defer(async () => void await Promise.all(rotation.lingering));
  const attempt = (): Promise<SessionEnd> => rotation.attempt((drained) => attemptOn(drained));
  const attemptOn = async (drained: () => void): Promise<SessionEnd> => {
    refusal = undefined;
    const target = rotation.current;
    const credentials = loginSession ? await loginCredentials(loginSession, ctx.signal) : token;
    if (credentials === undefined) return { authenticated: false };
    const end = await runSession(target, config, credentials, caCerts, holder, ctx.signal, {
      proxyCredentials,
      endpoint,
      currentToken: () => loginSession?.token,
      onSession: (session) => {
        relayAddress = target.address;
        log.info("Token grants {services}", {
          services: grantsLine(
            session.welcome.services,
            listeners.config.forward,
            listeners.proxies(),
            config.service_suffix,
          ),
        });
        loginSession?.onWelcome(session.welcome);
        probe();
      },
      onControl: (m) => {
        if (loginSession?.onControl(m)) return;
        // DRAIN: new flows wait for the next relay; this session's flows run on.
        const onDrain = () => {
          const current = holder.current;
          if (current) holder.clear(current);
          drained();
        };
        if (rotation.onControl(m, onDrain)) return;
        directPaths?.onControl(m);
      },
    });
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
}

/**
 * One endpoint for the relay connection and direct paths: the address the relay observes is the NAT
 * mapping the connector punches toward.
 */
function directPathsFor(
  config: ClientConfig,
  holder: SessionHolder,
): { endpoint: Deno.QuicEndpoint; directPaths: DirectPaths } {
  const endpoint = new Deno.QuicEndpoint({ hostname: "0.0.0.0", port: 0 });
  const directPaths = new DirectPaths({
    endpoint,
    retryMs: config.direct_retry_ms,
    punchTimeoutMs: config.direct_punch_timeout_ms,
    idleTimeoutMs: config.direct_idle_timeout_ms,
    session: () => holder.current,
    log,
  });
  return { endpoint, directPaths };
}

/** The device-flow login of `[client.login]`, closed when `parts` is disposed. */
async function startLogin(
  login: NonNullable<ClientConfig["login"]>,
  caCerts: string[] | undefined,
  holder: SessionHolder,
  signal: AbortSignal,
  parts: AsyncDisposableStack,
): Promise<LoginSession> {
  const deviceLogin = new DeviceLogin(
    login,
    login.ca ? [await readCaBundle(login.ca)] : caCerts,
    log,
  );
  parts.defer(() => deviceLogin.close());
  return new LoginSession({ login: deviceLogin, log, signal, send: () => refresher(holder) });
}

/** What the status endpoint reports of the relay link and the local listeners now. */
function liveState(
  holder: SessionHolder,
  current: ClientConfig,
  relayAddress: string | undefined,
): ClientLiveState {
  const session = holder.current as PooledSession | undefined;
  return {
    relay: session ? relayAddress : undefined,
    relayConnections: session ? 1 + (session.streams?.extras.length ?? 0) : 0,
    transport: session ? linkTransport(session.conn) : undefined,
    forwards: current.forward.map((f) => ({
      listen: f.listen,
      service: f.service,
      protocol: f.protocol,
    })),
    socks: current.socks,
    httpProxy: current.http_proxy,
  };
}

/** The login's credentials for the next session; undefined (logged) when there are none yet. */
async function loginCredentials(
  loginSession: LoginSession,
  signal: AbortSignal,
): Promise<{ idToken: string } | string | undefined> {
  try {
    return await loginSession.credentials();
  } catch (error) {
    if (signal.aborted) return undefined;
    if (!(error instanceof LoginError)) throw error;
    log.error("{error}", { error: error.message });
    return undefined;
  }
}

/**
 * Applies a re-read config's forwards and proxy endpoints; names the keys that changed but need a
 * restart.
 */
function reload(listeners: LocalListeners, next: ClientConfig): void {
  const current = listeners.config;
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
  listeners.apply(
    { ...current, forward: next.forward, socks: next.socks, http_proxy: next.http_proxy },
    true,
  );
}

/**
 * How a login refresh reaches the relay: every connection of the session was authenticated with an
 * issued token that ends, so each gets the refresh and flows on further connections outlive the
 * first token too. The relay answers each; the others' answers are awaited before the primary gets
 * it, whose answer the login session reads.
 */
function refresher(holder: SessionHolder) {
  const current = holder.current as PooledSession | undefined;
  if (!current) return undefined;
  return async (msg: Parameters<typeof current.control.send>[0]) => {
    // The others first, each until the relay answered (at most 5 s): when the primary's answer
    // says "Login refreshed", the new grants hold on every connection (the TCP lane's included).
    await current.streams?.refreshExtras((s) => s.control.send(msg), 5_000);
    await current.control.send(msg);
  };
}
