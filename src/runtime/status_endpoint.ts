/**
 * A role's local status endpoint, shared by client and connector: `GET /metrics` (Prometheus text
 * exposition 0.0.4) and `GET /status` (JSON) on a loopback address the schema checked, plus the
 * small writer both roles render their metrics with.
 * @module
 */
import type { Logger } from "@logtape/logtape";

/** What the endpoint serves; both are read at each request. */
export interface StatusSource {
  metrics(): string | Promise<string>;
  status(): unknown | Promise<unknown>;
}

/**
 * Serves `source` on `listen` (parsed by the caller) until `signal` aborts.
 * @throws Deno's bind errors as they are (the caller words them with its config key)
 */
export function serveStatusEndpoint(
  listen: { hostname: string; port: number },
  source: StatusSource,
  signal: AbortSignal,
  log: Logger,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({
    hostname: listen.hostname,
    port: listen.port,
    signal,
    onListen: (a) =>
      log.info("Status endpoint on http://{listen}/status and /metrics", {
        listen: `${a.hostname}:${a.port}`,
      }),
  }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method !== "GET") return new Response("GET only\n", { status: 405 });
    if (path === "/metrics") {
      return new Response(await source.metrics(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    if (path === "/status") return Response.json(await source.status());
    return new Response("not found: try /status or /metrics\n", { status: 404 });
  });
}

/** Escapes a Prometheus label value. */
export function promLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

/** Builds a Prometheus text exposition, one metric family at a time. */
export class PromText {
  readonly #lines: string[] = [];

  /** One family: HELP, TYPE, then its sample lines. */
  metric(name: string, type: "counter" | "gauge", help: string, rows: string[]): this {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...rows);
    return this;
  }

  toString(): string {
    return this.#lines.join("\n") + "\n";
  }
}
