/**
 * Entry of the connector's egress sandbox: a Deno Worker whose only permission is `net` to the
 * configured relays and backends (no read, write, env, run, ffi, sys). It runs the whole data plane,
 * so no payload crosses a postMessage boundary (H3, second layer after the allow-list in code).
 * @module
 */
import { configureLogging } from "../log/mod.ts";
import type { BackendTable } from "./backend_dialer.ts";
import { runConnectorCore } from "./connector_core.ts";
import type { DataPlaneState } from "./data_plane_state.ts";
import { type FromWorker, parseWorkerConfig, ToWorker } from "./worker_messages.ts";

/** Hooks a test build of the worker may set (the production worker sets none). */
export interface WorkerHooks {
  backends?(
    config: ReturnType<typeof parseWorkerConfig>,
    test: Record<string, string>,
  ): BackendTable;
}

/** Installs the message handler; called by this module and by test builds with hooks. */
export function serveWorker(hooks: WorkerHooks = {}): void {
  const scope = self as unknown as Worker;
  const post = (m: FromWorker) => scope.postMessage(m);
  const stop = new AbortController();
  let state: DataPlaneState | undefined;
  let drainAsked = false;
  scope.onmessage = (event: MessageEvent) => {
    const parsed = ToWorker.safeParse(event.data);
    if (!parsed.success) return post({ type: "failed", message: "malformed message from main" });
    const msg = parsed.data;
    if (msg.type === "stop") return stop.abort();
    if (msg.type === "stats") {
      return state && post({ type: "stats", stats: state.snapshot() });
    }
    if (msg.type === "drain") {
      drainAsked = true;
      return void state?.drain();
    }
    configureLogging(msg.log);
    const config = parseWorkerConfig(msg.config);
    runConnectorCore({
      config,
      token: msg.token,
      caCerts: msg.caCerts,
      proxyCredentials: msg.proxyCredentials,
      interfaces: msg.interfaces ?? [],
      signal: stop.signal,
      backends: hooks.backends?.(config, msg.test ?? {}),
      onState: (s) => {
        state = s;
        if (drainAsked) void s.drain();
      },
      onReady: () => post({ type: "ready" }),
      onIdle: () => stop.abort(),
    }).then(
      () => {
        // Main adds a stopped Worker's counters to its totals.
        if (state) post({ type: "stats", stats: state.snapshot() });
        post({ type: "stopped" });
      },
      (e) => post({ type: "failed", message: e instanceof Error ? e.message : String(e) }),
    );
  };
}

if (import.meta.main) serveWorker();
