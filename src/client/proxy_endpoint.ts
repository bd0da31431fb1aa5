/**
 * The client's proxy front ends: a SOCKS5 endpoint (RFC 1928, CONNECT) and an HTTP CONNECT endpoint
 * on one local port each, where a request names a service (`id` or `id.<suffix>`) instead of a
 * forward per port. Each accepted connection is read up to its request (bounded, with a deadline:
 * proxy_request.ts), checked against the token's grants, and becomes a flow; every refusal gets the
 * protocol's own code (proxy_answers.ts) and a log line saying why. With endpoint credentials
 * configured, every connection must present them first (SOCKS5: RFC 1929 username/password; HTTP:
 * Proxy-Authorization Basic), and an address that gave wrong ones too often is refused before
 * they are read (auth_failures.ts).
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { openFlow } from "./open_flow.ts";
import type { SessionHolder } from "./session_holder.ts";
import { SOCKS_REPLY, socksReply } from "./socks5.ts";
import type { EndpointCredentials } from "../config/endpoint_credentials.ts";
import { credentialsMatch } from "./endpoint_auth.ts";
import type { AuthFailures } from "./auth_failures.ts";
import { clientStats } from "./stats.ts";
import { resolveServiceName } from "./service_name.ts";
import { SocksUdpAssociation } from "./socks_udp.ts";
import {
  type LocalRefusal,
  localRefusalAnswer,
  openedAnswer,
  type ProxyKind,
  refusedAnswer,
} from "./proxy_answers.ts";
import {
  type CredentialCheck,
  httpRequest,
  type ProxyTarget,
  refuseBlocked,
  RequestReader,
  socksRequest,
  writeAll,
} from "./proxy_request.ts";

/** Settings of a proxy endpoint. */
export interface ProxyEndpointOptions {
  kind: ProxyKind;
  suffix: string;
  holder: SessionHolder;
  relayWaitMs: number;
  replyTimeoutMs: number;
  /** The live direct connection for a service, if any. */
  direct?: (service: string) => Deno.QuicConn | undefined;
  /** UDP flow settings: with them the SOCKS endpoint serves UDP ASSOCIATE too. */
  udp?: { idleMs: number; queueDepth: number };
  /** The credentials each connection must present, read per connection (undefined: none). */
  credentials?: () => Promise<EndpointCredentials | undefined>;
  /**
   * Wrong credentials by source address, shared by both endpoints: a blocked address is refused
   * before its credentials are read. Without it, guessing is not limited.
   */
  authFailures?: AuthFailures;
  log: Logger;
}

/** A local client has this long to send its whole proxy request. */
const REQUEST_DEADLINE_MS = 10_000;

/** Serves one local connection of a proxy endpoint; closes it in every case; never throws. */
export async function serveProxyConn(
  tcp: Deno.TcpConn,
  options: ProxyEndpointOptions,
): Promise<void> {
  const { log, kind } = options;
  const reader = new RequestReader(tcp);
  const target = await readTarget(reader, options);
  if (!target) return closeQuietly(tcp);
  const refuseLocal = async (code: LocalRefusal) => {
    await writeAll(tcp, localRefusalAnswer(kind, code)).catch(() => {});
    closeQuietly(tcp);
  };
  const session = await options.holder.wait(options.relayWaitMs);
  if (!session) {
    log.warn("Refused a {kind} request for {name}: no relay connection within {waitMs} ms", {
      kind,
      name: target.host,
      waitMs: options.relayWaitMs,
    });
    return await refuseLocal("no_relay");
  }
  if (target.udp && options.udp) {
    return await serveUdpAssociate(tcp, target.port, { ...options, udp: options.udp });
  }
  const decision = resolveServiceName(target.host, options.suffix, session.welcome.services);
  if (!decision.ok) {
    log.warn("Refused a {kind} request for {name}: {code} ({why})", {
      kind,
      name: target.host,
      code: decision.code,
      why: decision.why,
    });
    return await refuseLocal(decision.code);
  }
  const service = decision.service;
  const direct = options.direct?.(service);
  await openFlow(tcp, {
    session,
    service,
    replyTimeoutMs: options.replyTimeoutMs,
    log,
    ...(direct ? { direct } : {}),
    holder: options.holder,
    relayWaitMs: options.relayWaitMs,
    firstBytes: reader.pending.slice(),
    answer: {
      opened: () => writeAll(tcp, openedAnswer(kind)),
      refused: (code) => writeAll(tcp, refusedAnswer(kind, code)),
    },
  });
}

/**
 * The request's target, read within {@link REQUEST_DEADLINE_MS} (the connection is closed at the
 * deadline); undefined when it was refused (and answered), or the client left or was too slow.
 */
async function readTarget(
  reader: RequestReader,
  options: ProxyEndpointOptions,
): Promise<ProxyTarget | undefined> {
  const { log, kind } = options;
  const timer = setTimeout(() => closeQuietly(reader.tcp), REQUEST_DEADLINE_MS);
  try {
    const expected = await expectedCredentials(options);
    if (expected === "unreadable") return undefined;
    const source = reader.tcp.remoteAddr.hostname;
    if (expected && options.authFailures?.blocked(source)) {
      refusedBlocked(source, options);
      await refuseBlocked(reader, kind);
      return undefined;
    }
    const check = expected && credentialCheck(expected, source, options);
    return kind === "socks"
      ? await socksRequest(reader, log, options.udp !== undefined, check)
      : await httpRequest(reader, log, check);
  } catch {
    return undefined; // the local client left, or sent nothing in time
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A UDP ASSOCIATE: a UDP socket on the endpoint's own address for this client, announced in the
 * reply, living as long as the TCP connection. `clientPort` is the port the client said it sends
 * from (0: not known yet).
 */
async function serveUdpAssociate(
  tcp: Deno.TcpConn,
  clientPort: number,
  options: ProxyEndpointOptions & { udp: NonNullable<ProxyEndpointOptions["udp"]> },
): Promise<void> {
  const { log } = options;
  const local = tcp.localAddr;
  const client = tcp.remoteAddr.hostname;
  let socket: Deno.DatagramConn;
  try {
    if (local.hostname.includes(":")) throw new Error("IPv6 endpoint: UDP ASSOCIATE is IPv4 only");
    socket = Deno.listenDatagram({ hostname: local.hostname, port: 0, transport: "udp" });
  } catch (e) {
    log.warn("Refused a SOCKS5 UDP ASSOCIATE: {error}", {
      error: e instanceof Error ? e.message : String(e),
    });
    await writeAll(tcp, socksReply(SOCKS_REPLY.general_failure)).catch(() => {});
    return closeQuietly(tcp);
  }
  const bound = socket.addr as Deno.NetAddr;
  const association = new SocksUdpAssociation(socket, client, clientPort, {
    suffix: options.suffix,
    holder: options.holder,
    relayWaitMs: options.relayWaitMs,
    replyTimeoutMs: options.replyTimeoutMs,
    idleMs: options.udp.idleMs,
    queueDepth: options.udp.queueDepth,
    ...(options.direct ? { direct: options.direct } : {}),
    log,
  });
  const running = association.run();
  try {
    await writeAll(
      tcp,
      socksReply(SOCKS_REPLY.succeeded, {
        ip: bound.hostname.split(".").map(Number),
        port: bound.port,
      }),
    );
    log.debug("SOCKS5 UDP association on {bound} for {client}", {
      bound: `${bound.hostname}:${bound.port}`,
      client,
    });
    // RFC 1928: the association ends when its TCP connection does; nothing else comes on it.
    const sink = new Uint8Array(512);
    while ((await tcp.read(sink)) !== null) { /* ignored */ }
  } catch { /* the client left */ }
  association.close();
  await running;
  closeQuietly(tcp);
}

/** Closes `conn`, which may already be closed (e.g. by the request deadline). */
function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/**
 * The check of one connection's credentials from `source`. Blocked is asked again right before
 * comparing, in the same turn as counting: a connection opened before its address was blocked (many
 * at once, say) gets no guess compared. A wrong pair is counted; the one that blocks the address
 * is logged, once (its address, count and limit; never the user name or password).
 */
function credentialCheck(
  expected: EndpointCredentials,
  source: string,
  options: ProxyEndpointOptions,
): CredentialCheck {
  const { kind, log, authFailures } = options;
  return (given) => {
    if (authFailures?.blocked(source)) {
      refusedBlocked(source, options);
      return "blocked";
    }
    if (credentialsMatch(expected, given)) return "ok";
    clientStats.endpointAuthRefused(kind, "wrong_credentials");
    const count = authFailures?.failed(source);
    if (authFailures && count?.blockedNow) {
      const { maxFailures, windowMs } = authFailures.limits;
      log.warn(
        "Blocked {source} at the proxy endpoints: {failures} wrong credentials reach " +
          "client.endpoint_auth_failures ({limit}); its connections are refused until " +
          "client.endpoint_auth_window_ms ({windowMs} ms) passes without another",
        { source, failures: count.failures, limit: maxFailures, windowMs },
      );
    }
    return "wrong";
  };
}

/** Counts (and logs at debug) a connection refused because its address is blocked. */
function refusedBlocked(source: string, options: ProxyEndpointOptions): void {
  clientStats.endpointAuthRefused(options.kind, "blocked");
  options.log.debug("Refused a {kind} client from {source}: blocked for wrong credentials", {
    kind: options.kind,
    source,
  });
}

/** The endpoint's credentials, or "unreadable" (logged; the connection is refused: fail closed). */
async function expectedCredentials(
  options: ProxyEndpointOptions,
): Promise<EndpointCredentials | undefined | "unreadable"> {
  try {
    return await options.credentials?.();
  } catch (error) {
    options.log.error("Refused a {kind} client: the endpoint credentials cannot be read: {error}", {
      kind: options.kind,
      error: error instanceof Error ? error.message : String(error),
    });
    return "unreadable";
  }
}
