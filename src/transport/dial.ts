/**
 * Dialing a relay over QUIC with its certificate always verified (C1), and the dialer's half of the
 * HELLO exchange. Shared by connector and client.
 * @module
 */
import { parseHostPort } from "../protocol/address.ts";
import {
  ALPN,
  codeFromWire,
  type ErrorCode,
  PROTOCOL_VERSIONS,
  type Welcome,
  ZtnaError,
} from "../protocol/mod.ts";
import { ControlChannel } from "./control_channel.ts";
import { deadline, TIMED_OUT } from "../runtime/deadline.ts";
import type { PeerLink } from "./peer_link.ts";

/** A relay to dial: its `host:port` and the TLS name to verify (the host part by default). */
export interface RelayTarget {
  address: string;
  server_name?: string;
}

/** Why a dial or HELLO failed, in terms an operator can act on. */
export type DialFailure =
  | { kind: "untrusted_certificate"; detail: string }
  | { kind: "unreachable"; detail: string }
  | { kind: "refused"; code: ErrorCode | "unknown" }
  | { kind: "protocol"; detail: string };

/** A failed dial; `failure` says which kind. */
export class DialError extends Error {
  override readonly name = "DialError";
  constructor(readonly failure: DialFailure, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Options of {@link dialRelay}. */
export interface DialOptions {
  /** PEM CA certificates trusted on top of the system roots. */
  caCerts?: string[];
  keepAliveMs: number;
  idleTimeoutMs: number;
  /** Dial from this endpoint (so peers can reach us at the same mapping later). */
  endpoint?: Deno.QuicEndpoint;
  signal?: AbortSignal;
  /** Streams the relay may open to us at once (connectors receive flows). @default {100} */
  maxIncomingStreams?: number;
  /** Handshake deadline in milliseconds. @default {10000} */
  timeoutMs?: number;
}

/** Text of a relay target for logs. */
export function relayLabel(target: RelayTarget): string {
  return target.address;
}

/**
 * Connects to a relay; the server certificate is verified against the system roots plus `caCerts`.
 * @throws {DialError} untrusted_certificate or unreachable
 */
export async function dialRelay(
  target: RelayTarget,
  options: DialOptions,
): Promise<Deno.QuicConn> {
  const addr = parseHostPort(target.address);
  if (!addr.ok) throw new DialError({ kind: "unreachable", detail: addr.reason }, addr.reason);
  const { hostname, port } = addr.value;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    const connecting = Deno.connectQuic<false>({
      hostname,
      port,
      serverName: target.server_name ?? hostname,
      alpnProtocols: [ALPN],
      caCerts: options.caCerts,
      keepAliveInterval: options.keepAliveMs,
      maxIdleTimeout: options.idleTimeoutMs,
      endpoint: options.endpoint,
      maxConcurrentBidirectionalStreams: options.maxIncomingStreams,
      maxConcurrentUnidirectionalStreams: 0,
    });
    const conn = await abortable(
      connecting,
      signal,
      (c) => c.close({ closeCode: 0, reason: "abandoned" }),
    );
    return conn;
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    if (/certificate|UnknownIssuer|NotValidForName|Expired/i.test(detail)) {
      throw new DialError(
        { kind: "untrusted_certificate", detail },
        `Cannot trust relay ${target.address}: ${
          untrustedBecause(detail, target.server_name ?? hostname)
        } (${detail})`,
        { cause: e },
      );
    }
    throw new DialError(
      { kind: "unreachable", detail },
      `Cannot reach relay ${target.address}: ${detail}`,
      {
        cause: e,
      },
    );
  }
}

/** Says in plain words why the TLS stack refused the relay's certificate, from its error text. */
function untrustedBecause(detail: string, serverName: string): string {
  if (/expired|not valid (after|before)|NotValidYet/i.test(detail)) {
    return "its certificate has expired or is not valid yet (check the relay's certificate dates " +
      "and this machine's clock)";
  }
  if (/not valid for name|NotValidForName/i.test(detail)) {
    return `its certificate does not name "${serverName}" (check server_name)`;
  }
  if (/UnknownIssuer|BadSignature|UnknownRevocationStatus/i.test(detail)) {
    return "its certificate is not signed by a trusted CA (check ca)";
  }
  return `its certificate is not valid for "${serverName}" or not signed by a trusted CA`;
}

async function abortable<T>(
  p: Promise<T>,
  signal: AbortSignal,
  dispose: (v: T) => void,
): Promise<T> {
  if (signal.aborted) throw signal.reason;
  let onAbort: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([p, aborted]);
  } catch (e) {
    p.then(dispose, () => {});
    throw e;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** A session after a successful HELLO: the connection, its control channel and the relay's answer. */
export interface RelaySession<L extends PeerLink = PeerLink> {
  conn: L;
  control: ControlChannel;
  welcome: Welcome;
  /** Where the relay sees this connection: WELCOME's `observed`, then each `observed` update. */
  observed: { hostname: string; port: number };
}

/** Reads the close code the relay gave a connection, if it is one of ours. */
export async function closeCodeOf(conn: PeerLink): Promise<ErrorCode | "unknown" | undefined> {
  // `closed` rejects (e.g. "timed out") when the connection died without a CONNECTION_CLOSE.
  const info = await deadline(conn.closed.catch(() => undefined), 1_000);
  if (!info || info === TIMED_OUT) return undefined;
  return codeFromWire(info.closeCode) ?? (info.closeCode === 0 ? undefined : "unknown");
}

/**
 * Opens the control stream and authenticates. The token (or a login's ID token) is sent once, on
 * this stream, never logged.
 * @throws {DialError} refused (with the relay's code) or protocol
 */
export async function helloRelay<L extends PeerLink>(
  conn: L,
  role: "client" | "connector",
  token: string | { idToken: string },
  timeoutMs = 10_000,
): Promise<RelaySession<L>> {
  const stream = await conn.createBidirectionalStream();
  const control = new ControlChannel(stream);
  try {
    await control.send({
      type: "hello",
      versions: [...PROTOCOL_VERSIONS],
      role,
      // A login (single sign-on) sends the provider's ID token; the relay answers with a token.
      ...(typeof token === "string" ? { token } : { token: "", id_token: token.idToken }),
      software: "ztna",
    });
    const answer = await deadline(control.next(), timeoutMs);
    if (answer === TIMED_OUT) {
      throw new DialError(
        { kind: "protocol", detail: "no answer to HELLO" },
        "Relay did not answer HELLO",
      );
    }
    if (answer?.type === "welcome") {
      conn.welcomed?.();
      return { conn, control, welcome: answer, observed: { ...answer.observed } };
    }
    if (answer?.type === "refused") {
      throw new DialError(
        { kind: "refused", code: answer.code },
        `Relay refused the connection: ${answer.code}`,
      );
    }
    const code = await closeCodeOf(conn);
    if (code) {
      throw new DialError({ kind: "refused", code }, `Relay refused the connection: ${code}`);
    }
    throw new DialError(
      { kind: "protocol", detail: "unexpected answer" },
      "Relay sent an unexpected answer to HELLO",
    );
  } catch (e) {
    if (e instanceof DialError) throw e;
    const code = await closeCodeOf(conn);
    if (code) {
      throw new DialError({ kind: "refused", code }, `Relay refused the connection: ${code}`, {
        cause: e,
      });
    }
    const detail = e instanceof ZtnaError ? e.code : e instanceof Error ? e.message : String(e);
    throw new DialError({ kind: "protocol", detail }, `HELLO failed: ${detail}`, { cause: e });
  }
}
