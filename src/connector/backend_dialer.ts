/**
 * The connector's only way out: a TCP connection to the backend configured for a service, looked
 * up by service id (never an address from the wire), asynchronous, with a deadline (H3).
 * @module
 */
import { formatHostPort, parseHostPort } from "../protocol/address.ts";
import type { ConnectorServiceConfig } from "../config/schema.ts";
import { ZtnaError } from "../protocol/mod.ts";

/** A configured backend: where it is and which transports it offers. */
export interface Backend {
  hostname: string;
  port: number;
  protocols: ("tcp" | "udp")[];
}

/** Maps service ids to their configured backends; the allow-list check in code. */
export class BackendTable {
  readonly #backends = new Map<string, Backend>();

  constructor(services: readonly ConnectorServiceConfig[]) {
    for (const s of services) {
      const addr = parseHostPort(s.backend);
      if (!addr.ok) throw new RangeError(`connector.service "${s.id}": ${addr.reason}`);
      this.#backends.set(s.id, { ...addr.value, protocols: s.protocol });
    }
  }

  /** Service ids this connector serves. */
  get services(): string[] {
    return [...this.#backends.keys()];
  }

  /** Stops serving `service` here (a reload moved it to a new data plane). */
  remove(service: string): void {
    this.#backends.delete(service);
  }

  /** Transports offered for `service` (empty when it is not served here). */
  protocols(service: string): ("tcp" | "udp")[] {
    return this.#backends.get(service)?.protocols ?? [];
  }

  /**
   * The backend of `service` when it offers `protocol`.
   * @throws {ZtnaError} unknown_service
   */
  lookup(service: string, protocol: "tcp" | "udp"): Backend {
    const target = this.#backends.get(service);
    if (!target || !target.protocols.includes(protocol)) {
      throw new ZtnaError(
        "unknown_service",
        `service "${service}" is not served here over ${protocol}`,
      );
    }
    return target;
  }

  /**
   * Connects to the backend of `service` within `timeoutMs`.
   * @throws {ZtnaError} unknown_service, backend_refused, backend_timeout or backend_unreachable
   */
  async dial(service: string, timeoutMs: number): Promise<Deno.TcpConn> {
    const target = this.lookup(service, "tcp");
    const connecting = Deno.connect({
      hostname: target.hostname,
      port: target.port,
      transport: "tcp",
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        connecting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            connecting.then((c) => c.close(), () => {});
            reject(
              new ZtnaError(
                "backend_timeout",
                `backend of "${service}" did not answer in ${timeoutMs} ms`,
              ),
            );
          }, timeoutMs);
        }),
      ]);
    } catch (e) {
      if (e instanceof ZtnaError) throw e;
      if (e instanceof Deno.errors.NotCapable) {
        // Only reachable if the allow-list in code was bypassed: the Worker sandbox held.
        throw new ZtnaError("egress_denied", `sandbox refused the backend of "${service}"`, {
          cause: e,
        });
      }
      // The configured address is named (the connector's operator wrote it; I1 keeps only
      // unconfigured addresses out of info logs): "refused" alone sends people to the wrong host.
      const where = formatHostPort(target);
      if (e instanceof Deno.errors.ConnectionRefused) {
        throw new ZtnaError(
          "backend_refused",
          `backend of "${service}" refused the connection: nothing listens on ${where} ` +
            "(is the service running, and is its backend address right?)",
          { cause: e },
        );
      }
      if (e instanceof Deno.errors.TimedOut) {
        throw new ZtnaError("backend_timeout", `backend of "${service}" timed out`, { cause: e });
      }
      throw new ZtnaError(
        "backend_unreachable",
        `backend of "${service}" at ${where} is unreachable: ${
          e instanceof Error ? e.message.split(" (os error")[0] : String(e)
        }`,
        { cause: e },
      );
    } finally {
      clearTimeout(timer);
    }
  }
}
