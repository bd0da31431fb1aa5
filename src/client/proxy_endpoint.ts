/**
 * The client's proxy front ends: a SOCKS5 endpoint (RFC 1928, CONNECT) and an HTTP CONNECT endpoint
 * on one local port each, where a request names a service (`id` or `id.<suffix>`) instead of a
 * forward per port. Each accepted connection is read up to its request (bounded, with a deadline),
 * checked against the token's grants, and becomes a flow; every refusal gets the protocol's own code
 * and a log line saying why. With endpoint credentials configured, every connection must present
 * them first (SOCKS5: RFC 1929 username/password; HTTP: Proxy-Authorization Basic).
 * @module
 */
import type { Logger } from "@logtape/logtape";
import type { ErrorCode } from "../protocol/mod.ts";
import { openFlow } from "./open_flow.ts";
import type { SessionHolder } from "./session_holder.ts";
import {
  parseGreeting,
  parseRequest,
  parseUserPass,
  SOCKS_CMD,
  SOCKS_NO_ACCEPTABLE,
  SOCKS_NO_AUTH,
  SOCKS_REPLY,
  SOCKS_USER_PASS,
  socksReply,
  type SocksReplyCode,
  userPassReply,
} from "./socks5.ts";
import {
  connectResponse,
  MAX_CONNECT_HEAD,
  parseBasicAuth,
  parseConnectHead,
} from "./http_connect.ts";
import type { EndpointCredentials } from "../config/endpoint_credentials.ts";
import { credentialsMatch } from "./endpoint_auth.ts";
import { type NameRefusal, resolveServiceName } from "./service_name.ts";
import { SocksUdpAssociation } from "./socks_udp.ts";

/** Settings of a proxy endpoint. */
export interface ProxyEndpointOptions {
  kind: "socks" | "http";
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
  log: Logger;
}

/** A local client has this long to send its whole proxy request. */
const REQUEST_DEADLINE_MS = 10_000;

/** Why a request was refused before any flow: a name problem or no relay session. */
type LocalRefusal = NameRefusal | "no_relay";

const SOCKS_FOR_LOCAL: Record<LocalRefusal, SocksReplyCode> = {
  unknown_service: SOCKS_REPLY.host_unreachable,
  not_granted: SOCKS_REPLY.not_allowed,
  no_relay: SOCKS_REPLY.network_unreachable,
};
const HTTP_FOR_LOCAL: Record<LocalRefusal, number> = {
  unknown_service: 404,
  not_granted: 403,
  no_relay: 503,
};

/** The SOCKS5 reply for a flow the relay or connector refused. */
export function socksCodeFor(code: ErrorCode | "unknown"): SocksReplyCode {
  switch (code) {
    case "unauthorized":
    case "token_expired":
    case "token_revoked":
    case "token_invalid":
      return SOCKS_REPLY.not_allowed;
    case "unknown_service":
    case "no_connector":
    case "invalid_service_id":
      return SOCKS_REPLY.host_unreachable;
    case "backend_refused":
    case "backend_unreachable":
      return SOCKS_REPLY.connection_refused;
    case "backend_timeout":
      return SOCKS_REPLY.ttl_expired;
    default:
      return SOCKS_REPLY.general_failure;
  }
}

/** The HTTP status for a flow the relay or connector refused. */
export function httpStatusFor(code: ErrorCode | "unknown"): number {
  switch (code) {
    case "unauthorized":
    case "token_expired":
    case "token_revoked":
    case "token_invalid":
      return 403;
    case "unknown_service":
    case "invalid_service_id":
      return 404;
    case "no_connector":
    case "limit_exceeded":
    case "relay_overloaded":
      return 503;
    case "backend_timeout":
      return 504;
    default:
      return 502;
  }
}

/** Reads from `tcp` into a bounded buffer until `parse` says it has enough. */
class RequestReader {
  #buf = new Uint8Array(MAX_CONNECT_HEAD);
  #len = 0;
  constructor(readonly tcp: Deno.TcpConn) {}

  /** The unread bytes. */
  get pending(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  consume(n: number): void {
    this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
  }

  /** Reads more; false at EOF or when the buffer is full. */
  async more(): Promise<boolean> {
    if (this.#len >= this.#buf.byteLength) return false;
    const n = await this.tcp.read(this.#buf.subarray(this.#len));
    if (n === null) return false;
    this.#len += n;
    return true;
  }
}

type Incomplete = { kind: "incomplete" };

async function until<T extends { kind: string }>(
  reader: RequestReader,
  parse: (b: Uint8Array) => T | Incomplete,
): Promise<T | undefined> {
  while (true) {
    const r = parse(reader.pending);
    if (isComplete(r)) return r;
    if (!await reader.more()) return undefined;
  }
}

function isComplete<T extends { kind: string }>(r: T | Incomplete): r is T {
  return r.kind !== "incomplete";
}

async function writeAll(tcp: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.byteLength) at += await tcp.write(bytes.subarray(at));
}

/** Serves one local connection of a proxy endpoint; closes it in every case; never throws. */
export async function serveProxyConn(tcp: Deno.TcpConn, options: ProxyEndpointOptions) {
  const { log, kind } = options;
  const reader = new RequestReader(tcp);
  const timer = setTimeout(() => {
    try {
      tcp.close();
    } catch { /* done already */ }
  }, REQUEST_DEADLINE_MS);
  let target: { host: string; port: number; udp?: true } | undefined;
  try {
    const expected = await expectedCredentials(options);
    target = expected === "unreadable"
      ? undefined
      : kind === "socks"
      ? await socksRequest(reader, log, options.udp !== undefined, expected)
      : await httpRequest(reader, log, expected);
  } catch {
    target = undefined; // the local client left, or sent nothing in time
  } finally {
    clearTimeout(timer);
  }
  if (!target) {
    try {
      tcp.close();
    } catch { /* closed by the deadline */ }
    return;
  }
  const refuseLocal = async (code: LocalRefusal) => {
    await writeAll(
      tcp,
      kind === "socks"
        ? socksReply(SOCKS_FOR_LOCAL[code])
        : connectResponse(HTTP_FOR_LOCAL[code], code),
    ).catch(() => {});
    try {
      tcp.close();
    } catch { /* already closed */ }
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
      opened: () =>
        writeAll(
          tcp,
          kind === "socks" ? socksReply(SOCKS_REPLY.succeeded) : connectResponse(200),
        ),
      refused: (code) =>
        writeAll(
          tcp,
          kind === "socks"
            ? socksReply(socksCodeFor(code))
            : connectResponse(httpStatusFor(code), code),
        ),
    },
  });
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

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
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

/**
 * SOCKS5 greeting (and, with `expected`, RFC 1929 username/password) and request; answers refusals
 * itself and returns the CONNECT target, or the UDP ASSOCIATE's client port (with `udp`) when
 * `udp` is served.
 */
async function socksRequest(
  reader: RequestReader,
  log: Logger,
  udp: boolean,
  expected: EndpointCredentials | undefined,
) {
  const tcp = reader.tcp;
  const greeting = await until(reader, parseGreeting);
  if (!greeting) return undefined;
  if (greeting.kind === "error") {
    log.warn("Refused a SOCKS5 client: {why}", { why: greeting.why });
    return undefined;
  }
  reader.consume(greeting.used);
  const method = expected ? SOCKS_USER_PASS : SOCKS_NO_AUTH;
  if (!greeting.methods.includes(method)) {
    log.warn("Refused a SOCKS5 client: it offers no method this endpoint speaks ({method})", {
      method: expected ? "username/password: this endpoint requires credentials" : "no auth",
    });
    await writeAll(tcp, Uint8Array.of(5, SOCKS_NO_ACCEPTABLE));
    return undefined;
  }
  await writeAll(tcp, Uint8Array.of(5, method));
  if (expected && !await socksAuthenticated(reader, log, expected)) return undefined;
  const request = await until(reader, parseRequest);
  if (!request) return undefined;
  if (request.kind === "error") {
    log.warn("Refused a SOCKS5 request: {why}", { why: request.why });
    await writeAll(tcp, socksReply(request.code));
    return undefined;
  }
  reader.consume(request.used);
  if (udp && request.command === SOCKS_CMD.udp_associate) {
    return { host: request.host, port: request.port, udp: true as const };
  }
  if (request.command !== SOCKS_CMD.connect) {
    log.warn("Refused a SOCKS5 request: command {command} is not supported ({supported})", {
      command: request.command,
      supported: udp ? "CONNECT and UDP ASSOCIATE" : "CONNECT only",
    });
    await writeAll(tcp, socksReply(SOCKS_REPLY.command_not_supported));
    return undefined;
  }
  return { host: request.host, port: request.port };
}

/** RFC 1929: reads the user name and password, answers, and says whether they match. */
async function socksAuthenticated(
  reader: RequestReader,
  log: Logger,
  expected: EndpointCredentials,
): Promise<boolean> {
  const given = await until(reader, parseUserPass);
  if (!given) return false;
  if (given.kind === "error") {
    log.warn("Refused a SOCKS5 client: {why}", { why: given.why });
    await writeAll(reader.tcp, userPassReply(false));
    return false;
  }
  reader.consume(given.used);
  const ok = credentialsMatch(expected, given);
  await writeAll(reader.tcp, userPassReply(ok));
  // Neither the user name nor the password is logged: a mistyped password is often another one.
  if (!ok) log.warn("Refused a SOCKS5 client: wrong user name or password");
  return ok;
}

/** HTTP CONNECT head; answers refusals itself (407 without the right credentials) and returns the target. */
async function httpRequest(
  reader: RequestReader,
  log: Logger,
  expected: EndpointCredentials | undefined,
) {
  const head = await until(reader, parseConnectHead);
  if (!head) return undefined;
  if (head.kind === "error") {
    log.warn("Refused an HTTP proxy request: {why}", { why: head.why });
    await writeAll(reader.tcp, connectResponse(head.status, head.why));
    return undefined;
  }
  if (expected) {
    const given = head.proxyAuthorization === undefined
      ? undefined
      : parseBasicAuth(head.proxyAuthorization);
    if (!given || !credentialsMatch(expected, given)) {
      const why = head.proxyAuthorization === undefined
        ? "credentials required"
        : "wrong user name or password";
      log.warn("Refused an HTTP proxy request: {why}", { why });
      await writeAll(reader.tcp, connectResponse(407, why));
      return undefined;
    }
  }
  reader.consume(head.used);
  return { host: head.host, port: head.port };
}
