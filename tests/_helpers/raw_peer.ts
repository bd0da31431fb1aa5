/**
 * A hand-driven peer that speaks ztna-v2 directly, for what our own client never sends: a HELLO
 * without a token, garbage, oversized frames, streams and datagrams before HELLO, slow-loris bytes.
 * It reports the codes the relay answers with.
 * @module
 */
import { ALPN, codeFromWire, type ErrorCode } from "../../src/protocol/mod.ts";
import { closeCodeOf, DialError, helloRelay, type RelaySession } from "../../src/transport/dial.ts";

/** Options of {@link rawConnect}. */
export interface RawConnectOptions {
  /** Local address to dial from (another 127.0.0.0/8 address acts as another host). */
  bindHost?: string;
  /** Share one endpoint across many connections (handshake floods). */
  endpoint?: Deno.QuicEndpoint;
  idleTimeoutMs?: number;
}

/** Opens a QUIC connection to the relay on `port`, trusting the CA at `caPath`. */
export async function rawConnect(
  port: number,
  caPem: string,
  options: RawConnectOptions = {},
): Promise<Deno.QuicConn> {
  const endpoint = options.endpoint ??
    (options.bindHost ? new Deno.QuicEndpoint({ hostname: options.bindHost, port: 0 }) : undefined);
  return await Deno.connectQuic({
    hostname: "127.0.0.1",
    port,
    serverName: "localhost",
    alpnProtocols: [ALPN],
    caCerts: [caPem],
    endpoint,
    maxIdleTimeout: options.idleTimeoutMs ?? 10_000,
  });
}

/** The relay's close code for `conn`, waiting up to `timeoutMs`; undefined if still open. */
export async function closedWith(
  conn: Deno.QuicConn,
  timeoutMs = 10_000,
): Promise<ErrorCode | "unknown" | "open" | "no_code"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const info = await Promise.race([
    conn.closed.catch(() => null),
    new Promise<"open">((r) => timer = setTimeout(() => r("open"), timeoutMs)),
  ]).finally(() => clearTimeout(timer));
  if (info === "open") return "open";
  if (info === null) return "no_code";
  return codeFromWire(info.closeCode) ?? (info.closeCode === 0 ? "no_code" : "unknown");
}

/** Sends one HELLO and returns "welcome" or the relay's refusal code. */
export async function rawHello(
  relayPort: number,
  caPath: string,
  role: "client" | "connector",
  token: string,
): Promise<"welcome" | ErrorCode | "unknown" | undefined> {
  const conn = await rawConnect(relayPort, await Deno.readTextFile(caPath));
  try {
    await helloRelay(conn, role, token);
    return "welcome";
  } catch (e) {
    if (e instanceof DialError && e.failure.kind === "refused") return e.failure.code;
    return await closeCodeOf(conn);
  } finally {
    conn.close({ closeCode: 0, reason: "" });
  }
}

/** Authenticates with `token` and returns the live session. */
export async function rawSession(
  relayPort: number,
  caPem: string,
  token: string,
): Promise<RelaySession<Deno.QuicConn>> {
  const conn = await rawConnect(relayPort, caPem);
  return await helloRelay(conn, "client", token);
}

/** Writes raw bytes on a new stream and returns its writer. */
export async function rawStream(conn: Deno.QuicConn, bytes: Uint8Array) {
  const stream = await conn.createBidirectionalStream();
  const writer = stream.writable.getWriter();
  await writer.write(bytes);
  return { stream, writer };
}
