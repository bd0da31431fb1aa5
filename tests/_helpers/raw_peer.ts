/**
 * A hand-driven peer that speaks ztna-v2 directly, for cases our own client cannot be made to send
 * (a HELLO without a token, garbage): it reports the code the relay answers with.
 * @module
 */
import { ALPN, type ErrorCode } from "../../src/protocol/mod.ts";
import { closeCodeOf, DialError, helloRelay } from "../../src/transport/dial.ts";

/** Sends one HELLO and returns "welcome" or the relay's refusal code. */
export async function rawHello(
  relayPort: number,
  caPath: string,
  role: "client" | "connector",
  token: string,
): Promise<"welcome" | ErrorCode | "unknown" | undefined> {
  const conn = await Deno.connectQuic({
    hostname: "127.0.0.1",
    port: relayPort,
    serverName: "localhost",
    alpnProtocols: [ALPN],
    caCerts: [await Deno.readTextFile(caPath)],
  });
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
