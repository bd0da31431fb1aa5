/**
 * A hostile relay for connector tests: it accepts a connector, answers its HELLO, and then sends
 * crafted FLOW headers of the test's choosing, reporting the connector's REPLY codes.
 * @module
 */
import { ALPN, decodeHeader, encodeHeader } from "../../src/protocol/mod.ts";
import { ChunkReader } from "../../src/transport/chunk_reader.ts";
import { ControlChannel } from "../../src/transport/control_channel.ts";

/** A relay stand-in on a loopback port. */
export class FakeRelay implements AsyncDisposable {
  readonly #endpoint: Deno.QuicEndpoint;
  readonly #conn: Promise<Deno.QuicConn>;

  constructor(tls: { cert: string; key: string }) {
    this.#endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
    const listener = this.#endpoint.listen({ alpnProtocols: [ALPN], cert: tls.cert, key: tls.key });
    this.#conn = (async () => {
      const conn = await listener.accept();
      const first = await conn.incomingBidirectionalStreams.getReader().read();
      if (first.done) throw new Error("connector sent no control stream");
      const control = new ControlChannel(first.value);
      const hello = await control.next();
      if (hello?.type !== "hello") throw new Error("connector did not say HELLO");
      await control.send({
        type: "welcome",
        version: 2,
        connId: "fake0001",
        identity: "connector",
        role: "connector",
        services: ["*"],
        observed: { hostname: "127.0.0.1", port: 1 },
        limits: { maxStreams: 100, maxMessageBytes: 65_536 },
        tokenExpiresAt: Date.now() + 3_600_000,
      });
      // Answer registrations so the connector is content.
      (async () => {
        while (true) {
          const m = await control.next().catch(() => null);
          if (m === null) return;
          if (m.type === "register") await control.send({ type: "ack", service: m.service });
        }
      })();
      return conn;
    })();
  }

  get port(): number {
    return this.#endpoint.addr.port;
  }

  /** Sends a FLOW for `service` and returns the connector's REPLY code. */
  async openFlow(service: string, flowId = 1): Promise<string> {
    const conn = await this.#conn;
    const stream = await conn.createBidirectionalStream();
    const writer = stream.writable.getWriter();
    await writer.write(encodeHeader({ type: "flow", flowId, service, identity: "mallory" }));
    const reply = await new ChunkReader(stream.readable).readHeader((b) =>
      decodeHeader(b, "reply")
    );
    await writer.close().catch(() => {});
    return reply.code;
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.#endpoint.close({ closeCode: 0, reason: "" });
    return Promise.resolve();
  }
}
