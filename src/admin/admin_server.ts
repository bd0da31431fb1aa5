/**
 * The admin endpoint's HTTP server: Deno.serve around an {@link AdminApp}, plain HTTP on loopback
 * or HTTPS with the relay's certificate, restarted on the same port when the certificate is
 * reloaded, and shut down gracefully (event streams ended first, then in-flight requests drained,
 * bounded by a deadline).
 * @module
 */
import { deadline, TIMED_OUT } from "../runtime/deadline.ts";
import { getLogger } from "@logtape/logtape";
import type { AdminApp } from "./admin_app.ts";

const log = getLogger(["ztna", "admin"]);

/** PEM certificate chain and key for HTTPS. */
export interface AdminTls {
  cert: string;
  key: string;
}

/** Options of {@link AdminServer.start}. */
export interface AdminServerOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** Serve HTTPS with this certificate; absent: plain HTTP (loopback only, checked in config). */
  tls?: AdminTls;
}

/** Longest a graceful shutdown waits for in-flight requests. */
const SHUTDOWN_GRACE_MS = 2_000;

/** A running admin HTTP server. */
export class AdminServer {
  #server: Deno.HttpServer<Deno.NetAddr>;
  #port: number;
  readonly #hostname: string;
  #tls: AdminTls | undefined;

  private constructor(
    readonly app: AdminApp,
    server: Deno.HttpServer<Deno.NetAddr>,
    options: AdminServerOptions,
  ) {
    this.#server = server;
    this.#hostname = options.hostname;
    this.#port = server.addr.port;
    this.#tls = options.tls;
  }

  /**
   * Binds and starts serving.
   * @throws {Error} naming the address when it cannot be bound (in use, not permitted)
   */
  static start(app: AdminApp, options: AdminServerOptions): AdminServer {
    const server = serve(app, options);
    const admin = new AdminServer(app, server, options);
    log.info("Admin endpoint listening on {url}", { url: admin.url });
    return admin;
  }

  /** The bound address. */
  get addr(): Deno.NetAddr {
    return this.#server.addr;
  }

  /** Base URL, e.g. `http://127.0.0.1:4434`. */
  get url(): string {
    const host = this.#hostname.includes(":") ? `[${this.#hostname}]` : this.#hostname;
    return `${this.#tls ? "https" : "http"}://${host}:${this.#port}`;
  }

  /**
   * Serves a new certificate: the old server stops (event streams end, clients reconnect) and a
   * new one binds the same port. On failure the old certificate stays in use.
   */
  async reloadTls(tls: AdminTls): Promise<void> {
    if (this.#tls === undefined) return;
    this.app.endStreams();
    if (await bounded(this.#server.shutdown()) === "late") {
      log.warn("Admin endpoint restarted with requests still open");
    }
    const options = { hostname: this.#hostname, port: this.#port };
    try {
      this.#server = serve(this.app, { ...options, tls });
      this.#tls = tls;
      log.info("Reloaded the admin endpoint certificate");
    } catch (error) {
      this.#server = serve(this.app, { ...options, tls: this.#tls });
      throw error;
    }
  }

  /** Ends event streams, then lets in-flight requests finish for up to 2 s. Idempotent. */
  async shutdown(): Promise<void> {
    this.app.closeStreams();
    if (await bounded(this.#server.shutdown()) === "late") {
      log.warn("Admin endpoint stopped with requests still open");
    } else {
      log.info("Admin endpoint stopped");
    }
  }
}

/** Waits for a graceful server shutdown for at most {@link SHUTDOWN_GRACE_MS}. */
async function bounded(done: Promise<void>): Promise<"done" | "late"> {
  return await deadline(done, SHUTDOWN_GRACE_MS) === TIMED_OUT ? "late" : "done";
}

function serve(app: AdminApp, options: AdminServerOptions): Deno.HttpServer<Deno.NetAddr> {
  const { hostname, port, tls } = options;
  try {
    return Deno.serve({
      hostname,
      port,
      ...(tls === undefined ? {} : { cert: tls.cert, key: tls.key }),
      onListen: () => {},
      onError: (error) => {
        log.error("Admin request failed: {error}", { error });
        return new Response("internal error", { status: 500 });
      },
    }, (req, info) => {
      const remote = info.remoteAddr;
      return app.handle(req, `${remote.hostname}:${remote.port}`);
    });
  } catch (error) {
    const reason = error instanceof Deno.errors.AddrInUse
      ? "address in use"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new Error(
      `Cannot start the admin endpoint on ${hostname}:${port}: ${reason}; set ` +
        "[intermediate.admin] listen to another address, or enabled = false",
      { cause: error },
    );
  }
}
