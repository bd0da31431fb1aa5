/**
 * The connector's only way out: a TCP connection to the backend configured for a service, looked
 * up by service id (never an address from the wire), asynchronous, with a deadline (H3).
 * @module
 */
import { parseHostPort } from "../config/address.ts";
import type { ConnectorServiceConfig } from "../config/schema.ts";
import { ZtnaError } from "../protocol/mod.ts";

/** Maps service ids to their configured backends; the allow-list check in code. */
export class BackendTable {
  readonly #backends = new Map<string, { hostname: string; port: number }>();

  constructor(services: readonly ConnectorServiceConfig[]) {
    for (const s of services) {
      const addr = parseHostPort(s.backend);
      if (!addr.ok) throw new RangeError(`connector.service "${s.id}": ${addr.reason}`);
      this.#backends.set(s.id, addr.value);
    }
  }

  /** Service ids this connector serves. */
  get services(): string[] {
    return [...this.#backends.keys()];
  }

  /**
   * Connects to the backend of `service` within `timeoutMs`.
   * @throws {ZtnaError} unknown_service, backend_refused, backend_timeout or backend_unreachable
   */
  async dial(service: string, timeoutMs: number): Promise<Deno.TcpConn> {
    const target = this.#backends.get(service);
    if (!target) throw new ZtnaError("unknown_service", `service "${service}" is not served here`);
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
      if (e instanceof Deno.errors.ConnectionRefused) {
        throw new ZtnaError("backend_refused", `backend of "${service}" refused the connection`, {
          cause: e,
        });
      }
      if (e instanceof Deno.errors.TimedOut) {
        throw new ZtnaError("backend_timeout", `backend of "${service}" timed out`, { cause: e });
      }
      throw new ZtnaError("backend_unreachable", `backend of "${service}" is unreachable`, {
        cause: e,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}
