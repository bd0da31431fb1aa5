/**
 * The HTTP-01 challenge listener: plain HTTP on `http_listen` (port 80 by default), open only while
 * an order is being validated (in a fleet: always, answering from the shared store too), answering `GET /.well-known/acme-challenge/<token>` with the key
 * authorization of a pending challenge and 404 to everything else. The answer is pure
 * ({@link challengeAnswer}); the server is a thin shell around it.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { parseHostPort } from "../config/mod.ts";
import { AcmeError } from "./acme_error.ts";

const log = getLogger(["ztna", "acme"]);

/** Path prefix of RFC 8555 §8.3. */
export const CHALLENGE_PATH_PREFIX = "/.well-known/acme-challenge/";
/** Tokens are base64url (RFC 8555 §8.1); anything else is not ours. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;

/** The token a challenge path asks for, or undefined when the path is not a challenge's. Pure. */
export function challengeToken(path: string): string | undefined {
  if (!path.startsWith(CHALLENGE_PATH_PREFIX)) return undefined;
  const token = path.slice(CHALLENGE_PATH_PREFIX.length);
  return TOKEN_PATTERN.test(token) ? token : undefined;
}

/** What to answer to one request: the key authorization, or 404. Pure. */
export function challengeAnswer(
  method: string,
  path: string,
  pending: ReadonlyMap<string, string>,
): { status: 200; body: string } | { status: 404 | 405 } {
  if (!path.startsWith(CHALLENGE_PATH_PREFIX)) return { status: 404 };
  const token = path.slice(CHALLENGE_PATH_PREFIX.length);
  if (!TOKEN_PATTERN.test(token)) return { status: 404 };
  const keyAuthorization = pending.get(token);
  if (keyAuthorization === undefined) return { status: 404 };
  if (method !== "GET" && method !== "HEAD") return { status: 405 };
  return { status: 200, body: keyAuthorization };
}

/** A running challenge listener; dispose to stop it. */
export class Http01Server implements AsyncDisposable {
  /** token → key authorization of the challenges being validated. */
  readonly pending = new Map<string, string>();
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  private constructor(
    listen: { hostname: string; port: number },
    lookup?: (token: string) => Promise<string | undefined>,
  ) {
    this.#server = Deno.serve({
      hostname: listen.hostname,
      port: listen.port,
      onListen: () => {},
      onError: () => new Response(null, { status: 500 }),
    }, async (req) => {
      const path = new URL(req.url).pathname;
      let answer = challengeAnswer(req.method, path, this.pending);
      const token = challengeToken(path);
      if (answer.status === 404 && lookup && token !== undefined) {
        // A fleet: another relay's order, its answer in the shared store.
        const found = await lookup(token).catch(() => undefined);
        if (found !== undefined) {
          answer = challengeAnswer(req.method, path, new Map([[token, found]]));
        }
      }
      if (answer.status === 200) {
        log.debug("Answered an HTTP-01 challenge request");
        return new Response(answer.body, { headers: { "content-type": "text/plain" } });
      }
      return new Response(null, { status: answer.status });
    });
  }

  /**
   * Binds `listen` (`host:port`).
   * @throws {AcmeError} challenge_listener_failed when the address cannot be bound
   */
  static start(
    listen: string,
    lookup?: (token: string) => Promise<string | undefined>,
  ): Http01Server {
    const addr = parseHostPort(listen);
    if (!addr.ok) throw new AcmeError("challenge_listener_failed", addr.reason);
    try {
      return new Http01Server(addr.value, lookup);
    } catch (error) {
      const reason = error instanceof Deno.errors.AddrInUse
        ? "address in use"
        : error instanceof Deno.errors.PermissionDenied
        ? "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)"
        : error instanceof Error
        ? error.message
        : String(error);
      throw new AcmeError(
        "challenge_listener_failed",
        `Cannot start the HTTP-01 challenge listener on ${listen}: ${reason}; set ` +
          "[intermediate.acme] http_listen to an address the CA reaches on port 80",
        { cause: error },
      );
    }
  }

  /** The bound address. */
  get addr(): Deno.NetAddr {
    return this.#server.addr;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}
