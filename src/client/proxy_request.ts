/**
 * Reading a local client's proxy request up to its target: the SOCKS5 greeting, RFC 1929
 * username/password and request, or the HTTP CONNECT head with its Proxy-Authorization — bounded,
 * each refusal answered with the protocol's own code and logged with why. The parsing itself is
 * pure (socks5.ts, http_connect.ts); this is the reading and answering around it. The credentials'
 * verdict (right, wrong, or a source blocked for guessing) comes from the caller.
 * @module
 */
import type { Logger } from "@logtape/logtape";
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
  userPassReply,
} from "./socks5.ts";
import {
  connectResponse,
  MAX_CONNECT_HEAD,
  parseBasicAuth,
  parseConnectHead,
} from "./http_connect.ts";
import type { ProxyKind } from "./proxy_answers.ts";

/**
 * The verdict on credentials a local program gave: right, wrong, or not compared at all because
 * its address is blocked for guessing (auth_failures.ts).
 */
export type CredentialVerdict = "ok" | "wrong" | "blocked";

/** Checks (and counts) the credentials of one connection; undefined: none are asked. */
export type CredentialCheck = (given: { username: string; password: string }) => CredentialVerdict;

/**
 * The body of the HTTP refusal of a blocked address. 429, not 407: a 407 tells a program (and a
 * browser's password prompt) that the credentials were wrong, so the person would retype a right
 * password and keep being refused without knowing why; 429 says "too many, wait", which is true.
 */
const BLOCKED_WHY = "too many wrong credentials from this address; try again later";

/** What a proxy request asks for: a CONNECT target, or (SOCKS5) a UDP ASSOCIATE's client port. */
export interface ProxyTarget {
  host: string;
  port: number;
  udp?: true;
}

/** Reads from `tcp` into a bounded buffer until `parse` says it has enough. */
export class RequestReader {
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

export async function writeAll(tcp: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.byteLength) at += await tcp.write(bytes.subarray(at));
}

/**
 * SOCKS5 greeting (and, with `expected`, RFC 1929 username/password) and request; answers refusals
 * itself and returns the CONNECT target, or the UDP ASSOCIATE's client port (with `udp`) when
 * `udp` is served.
 */
export async function socksRequest(
  reader: RequestReader,
  log: Logger,
  udp: boolean,
  check: CredentialCheck | undefined,
): Promise<ProxyTarget | undefined> {
  const tcp = reader.tcp;
  const greeting = await until(reader, parseGreeting);
  if (!greeting) return undefined;
  if (greeting.kind === "error") {
    log.warn("Refused a SOCKS5 client: {why}", { why: greeting.why });
    return undefined;
  }
  reader.consume(greeting.used);
  const method = check ? SOCKS_USER_PASS : SOCKS_NO_AUTH;
  if (!greeting.methods.includes(method)) {
    log.warn("Refused a SOCKS5 client: it offers no method this endpoint speaks ({method})", {
      method: check ? "username/password: this endpoint requires credentials" : "no auth",
    });
    await writeAll(tcp, Uint8Array.of(5, SOCKS_NO_ACCEPTABLE));
    return undefined;
  }
  await writeAll(tcp, Uint8Array.of(5, method));
  if (check && !await socksAuthenticated(reader, log, check)) return undefined;
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
  check: CredentialCheck,
): Promise<boolean> {
  const given = await until(reader, parseUserPass);
  if (!given) return false;
  if (given.kind === "error") {
    log.warn("Refused a SOCKS5 client: {why}", { why: given.why });
    await writeAll(reader.tcp, userPassReply(false));
    return false;
  }
  reader.consume(given.used);
  const verdict = check(given);
  await writeAll(reader.tcp, userPassReply(verdict === "ok"));
  // Neither the user name nor the password is logged: a mistyped password is often another one.
  if (verdict === "wrong") log.warn("Refused a SOCKS5 client: wrong user name or password");
  return verdict === "ok";
}

/**
 * HTTP CONNECT head; answers refusals itself (407 without the right credentials) and returns the
 * target.
 */
export async function httpRequest(
  reader: RequestReader,
  log: Logger,
  check: CredentialCheck | undefined,
): Promise<ProxyTarget | undefined> {
  const head = await until(reader, parseConnectHead);
  if (!head) return undefined;
  if (head.kind === "error") {
    log.warn("Refused an HTTP proxy request: {why}", { why: head.why });
    await writeAll(reader.tcp, connectResponse(head.status, head.why));
    return undefined;
  }
  if (check) {
    const given = head.proxyAuthorization === undefined
      ? undefined
      : parseBasicAuth(head.proxyAuthorization);
    // No credentials, or not Basic ones, is no guess: 407 asks for them and nothing is counted.
    const verdict = given ? check(given) : "wrong";
    if (verdict === "blocked") {
      await writeAll(reader.tcp, connectResponse(429, BLOCKED_WHY));
      return undefined;
    }
    if (verdict === "wrong") {
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

/**
 * Refuses a connection from an address blocked for guessing before any credentials are looked at:
 * SOCKS5 answers the greeting with 0xFF (no acceptable methods: RFC 1929 is never offered, so
 * nothing more is read), HTTP answers 429. The greeting or head is read first only so the answer
 * is not lost to a reset (closing with unread bytes); a head's Proxy-Authorization is not decoded.
 */
export async function refuseBlocked(reader: RequestReader, kind: ProxyKind): Promise<void> {
  if (kind === "socks") {
    const greeting = await until(reader, parseGreeting);
    if (greeting?.kind === "greeting") {
      await writeAll(reader.tcp, Uint8Array.of(5, SOCKS_NO_ACCEPTABLE));
    }
    return;
  }
  if (await until(reader, parseConnectHead)) {
    await writeAll(reader.tcp, connectResponse(429, BLOCKED_WHY));
  }
}
