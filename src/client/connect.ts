/**
 * `ztna connect SERVICE`: one flow to a service on the process's stdin and stdout, for an SSH
 * `ProxyCommand ztna connect %h`. Stdout carries the service's bytes only; logs go to stderr.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RunContext } from "../runtime/run_context.ts";
import type { ClientConfig } from "../config/schema.ts";
import { readCaBundle } from "../config/files.ts";
import { dialerProxyCredentials } from "../config/proxy_settings.ts";
import { keepConnected, type SessionEnd } from "../transport/mod.ts";
import type { ByteConn } from "../transport/tcp_flow.ts";
import { lastingRefusal, runSession } from "./client_session.ts";
import { openFlow } from "./open_flow.ts";
import { resolveServiceName } from "./service_name.ts";
import { SessionHolder } from "./session_holder.ts";

const log = getLogger(["ztna", "client", "connect"]);

/** See REPLY_TIMEOUT_MS in mod.ts: the relay answers by itself well before. */
const REPLY_TIMEOUT_MS = 30_000;

/**
 * A first relay connection (dial, TLS, HELLO) gets at least this long: `ztna connect` starts cold,
 * where a running client's `relay_wait_ms` covers only a reconnect.
 */
const FIRST_SESSION_MIN_MS = 10_000;

/** The flow failed to open; main.ts reports the message and exits 1. */
export class ConnectError extends Error {
  override readonly name = "ConnectError";
}

/**
 * Stdin and stdout as a flow's local end. Closing ends a pending stdin read at once (Deno's read of
 * a pipe does not end when the file is closed), so a flow the service reset does not wait for the
 * next keystroke.
 */
class StdioConn implements ByteConn {
  readonly #closed = Promise.withResolvers<null>();
  #stdoutClosed = false;

  read(p: Uint8Array): Promise<number | null> {
    return Promise.race([Deno.stdin.read(p), this.#closed.promise]);
  }

  write(p: Uint8Array): Promise<number> {
    return Deno.stdout.write(p);
  }

  closeWrite(): Promise<void> {
    this.#closeStdout();
    return Promise.resolve();
  }

  close(): void {
    this.#closed.resolve(null);
    this.#closeStdout();
  }

  #closeStdout(): void {
    if (this.#stdoutClosed) return;
    this.#stdoutClosed = true;
    // ssh sees the end of the connection when our stdout closes.
    try {
      Deno.stdout.close();
    } catch { /* already closed */ }
  }
}

/**
 * Connects to the first reachable relay, opens one flow to `name` (`id` or `id.<suffix>`) and joins
 * it to stdin and stdout until both directions end.
 * @throws {ConnectError} when no relay session comes, the token does not grant the service, or the
 *   flow is refused (with the relay's code)
 */
export async function runConnect(
  config: ClientConfig,
  token: string,
  name: string,
  ctx: RunContext,
): Promise<void> {
  const caCerts = config.ca ? [await readCaBundle(config.ca)] : undefined;
  const proxyCredentials = await dialerProxyCredentials(config, "client");
  const holder = new SessionHolder();
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  const refused = Promise.withResolvers<SessionEnd>();
  let index = 0;
  const attempt = async (): Promise<SessionEnd> => {
    const target = config.relays[index % config.relays.length];
    const end = await runSession(target, config, token, caCerts, holder, stop.signal, {
      proxyCredentials,
      onSession: () => {},
      onControl: () => {},
    });
    if (!end.authenticated || end.code === "going_away") index++;
    if (lastingRefusal(end) !== undefined) refused.resolve(end);
    return end;
  };
  const connecting = keepConnected(attempt, {
    label: config.relays.map((r) => r.address).join(", "),
    log,
    signal: stop.signal,
    minMs: config.reconnect_min_ms,
    maxMs: config.reconnect_max_ms,
  });
  try {
    const waitMs = Math.max(config.relay_wait_ms, FIRST_SESSION_MIN_MS);
    const first = await Promise.race([holder.wait(waitMs), refused.promise]);
    if (first === undefined || !("welcome" in first)) {
      const code = first?.code;
      throw new ConnectError(
        code === undefined
          ? `no relay connection within ${waitMs} ms (${
            config.relays.map((r) => r.address).join(", ")
          })`
          : `the relay refused this client (${code}); it needs a new token`,
      );
    }
    const decision = resolveServiceName(name, config.service_suffix, first.welcome.services);
    if (!decision.ok) throw new ConnectError(`cannot connect to ${name}: ${decision.why}`);
    const outcome = await openFlow(new StdioConn(), {
      session: first,
      service: decision.service,
      replyTimeoutMs: REPLY_TIMEOUT_MS,
      log,
      holder,
      relayWaitMs: config.relay_wait_ms,
    });
    if (!outcome.ok) {
      throw new ConnectError(`flow to ${decision.service} refused: ${outcome.code}`);
    }
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    stop.abort();
    await connecting;
  }
}
