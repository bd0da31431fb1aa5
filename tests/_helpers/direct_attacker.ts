/**
 * A client built from the project's own dial, direct-path and flow code that, as an attacker's would,
 * keeps using a direct path without a relay session: it brokers one path, may drop its relay
 * connection at once, and then serves a local TCP port over the direct path alone.
 * @module
 */
import {
  ALPN,
  type ControlMessage,
  type ErrorCode,
  PROTOCOL_VERSIONS,
} from "../../src/protocol/mod.ts";
import { ControlChannel } from "../../src/transport/control_channel.ts";
import type { RelaySession } from "../../src/transport/dial.ts";
import { requestFlow } from "../../src/client/request_flow.ts";
import { runTcpFlow } from "../../src/transport/tcp_flow.ts";
import { rawSession } from "./raw_peer.ts";

type DirectReady = Extract<ControlMessage, { type: "direct_ready" }>;

/** A brokered direct path and the relay session that brokered it. */
export interface AttackerPath {
  session: RelaySession;
  ready: DirectReady;
  conn: Deno.QuicConn;
  control: ControlChannel;
  /** When the connector said it ends the path (ms since the epoch). */
  expiresAt: number;
}

/** The next control message of `type` (others, such as `observed`, are skipped); 10 s at most. */
export async function nextOfType<T extends ControlMessage["type"]>(
  control: ControlChannel,
  types: T[],
  timeoutMs = 10_000,
): Promise<Extract<ControlMessage, { type: T }>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const msg = await Promise.race([
      control.next(),
      new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), deadline - Date.now())),
    ]).finally(() => clearTimeout(timer));
    if (msg === "timeout" || msg === null) break;
    if ((types as string[]).includes(msg.type)) return msg as Extract<ControlMessage, { type: T }>;
  }
  throw new Error(`no ${types.join("/")} message within ${timeoutMs} ms`);
}

/** Asks the relay for a direct path to `service` and returns its `direct_ready` (or throws). */
export async function requestDirect(
  session: RelaySession<Deno.QuicConn>,
  service: string,
): Promise<DirectReady> {
  await session.control.send({
    type: "direct_request",
    requestId: 1,
    service,
    candidates: [{ hostname: "127.0.0.1", port: session.conn.endpoint.addr.port }],
  });
  const answer = await nextOfType(session.control, ["direct_ready", "direct_refused"]);
  if (answer.type === "direct_refused") throw new Error(`relay refused: ${answer.code}`);
  return answer;
}

/**
 * Dials the connector's loopback candidate with `ticket` and returns the connection and its
 * control stream after `direct_welcome`; throws with the connector's refusal otherwise.
 */
export async function dialDirect(
  ready: DirectReady,
  ticket = ready.ticket,
): Promise<{ conn: Deno.QuicConn; control: ControlChannel; expiresAt: number }> {
  // Only loopback: the connector also announces this host's other interfaces.
  const target = ready.candidates.find((c) => c.hostname.startsWith("127."));
  if (!target) throw new Error("no loopback candidate");
  const conn = await Deno.connectQuic({
    hostname: target.hostname,
    port: target.port,
    serverName: ready.serverName,
    caCerts: [ready.cert],
    alpnProtocols: [ALPN],
    maxIdleTimeout: 10_000,
    keepAliveInterval: 1_000,
  });
  const control = new ControlChannel(await conn.createBidirectionalStream());
  await control.send({ type: "direct_hello", versions: [...PROTOCOL_VERSIONS], ticket });
  const welcome = await control.next().catch(() => null);
  if (welcome?.type !== "direct_welcome") {
    conn.close({ closeCode: 0, reason: "" });
    throw new Error("connector refused the direct hello");
  }
  return { conn, control, expiresAt: welcome.expiresAt };
}

/** Authenticates at the relay, brokers a path to `service` and dials it. */
export async function brokerDirectPath(
  relayPort: number,
  caPem: string,
  token: string,
  service = "web",
): Promise<AttackerPath> {
  const session = await rawSession(relayPort, caPem, token);
  const ready = await requestDirect(session, service);
  return { session, ready, ...(await dialDirect(ready)) };
}

/** A local TCP port whose connections become flows over `conn` only (never the relay). */
export interface DirectForward {
  port: number;
  /** Codes of flows the connector refused, in order. */
  refusals: (ErrorCode | "unknown")[];
  close(): void;
}

/** Serves 127.0.0.1:<port> over the direct connection `conn`, as a client minus its relay. */
export function directForward(conn: Deno.QuicConn, service = "web"): DirectForward {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const refusals: (ErrorCode | "unknown")[] = [];
  (async () => {
    for await (const tcp of listener) {
      (async () => {
        const req = await requestFlow({ conn }, service, "tcp", 5_000);
        if (!req.ok) {
          refusals.push(req.code);
          return tcp.close();
        }
        req.flow.writer.releaseLock();
        await runTcpFlow(tcp, req.flow.reader, req.flow.stream.writable);
      })().catch(() => {});
    }
  })().catch(() => {});
  return { port: listener.addr.port, refusals, close: () => listener.close() };
}

/** A TCP connection held open through a forward: each `ping` must come back from an echo backend. */
export class HeldFlow {
  private constructor(readonly tcp: Deno.TcpConn) {}

  static async open(port: number): Promise<HeldFlow> {
    return new HeldFlow(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** True when `text` came back within `timeoutMs`; false on EOF, error or silence. */
  async ping(text: string, timeoutMs = 3_000): Promise<boolean> {
    const want = new TextEncoder().encode(text);
    try {
      await this.tcp.write(want);
    } catch {
      return false;
    }
    const got: number[] = [];
    const buf = new Uint8Array(1024);
    const deadline = Date.now() + timeoutMs;
    while (got.length < want.length && Date.now() < deadline) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        this.tcp.read(buf).catch(() => null),
        new Promise<"timeout">((r) =>
          timer = setTimeout(() => r("timeout"), deadline - Date.now())
        ),
      ]).finally(() => clearTimeout(timer));
      if (n === null || n === "timeout") return false;
      got.push(...buf.subarray(0, n));
    }
    return new TextDecoder().decode(new Uint8Array(got)) === text;
  }

  close(): void {
    try {
      this.tcp.close();
    } catch { /* closed */ }
  }
}
