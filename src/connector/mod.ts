/**
 * The connector role: reads what the sandbox may not (CA file), then runs the data plane inside
 * the egress Worker whose network permission is exactly the configured relays and backends.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RunContext } from "../runtime/run_context.ts";
import type { ConnectorConfig, LogConfig } from "../config/schema.ts";
import { readCaBundle } from "../config/files.ts";
import { egressNetPermissions } from "./sandbox_permissions.ts";
import { FromWorker, type ToWorker } from "./worker_messages.ts";
import { hostInterfaces } from "../transport/mod.ts";

export { runConnectorCore } from "./connector_core.ts";
export { egressNetPermissions } from "./sandbox_permissions.ts";

const log = getLogger(["ztna", "connector"]);

/** Options of {@link runConnector}. */
export interface RunConnectorOptions {
  /** Log settings for the Worker (it configures its own logger). @default {{level:"info",format:"text"}} */
  log?: LogConfig;
  /** The Worker module; only test builds replace it. */
  workerUrl?: URL;
  /** Extra values for a test build of the Worker. */
  test?: Record<string, string>;
  /** Runs once the Worker exists: main.ts revokes the process's own `net` there. */
  onSandboxStarted?: () => Promise<void>;
}

/** How long a stopping Worker may take before it is terminated. */
const STOP_GRACE_MS = 5_000;

/** Runs the connector until `ctx.signal` aborts. @throws when the sandboxed data plane fails */
export async function runConnector(
  config: ConnectorConfig,
  token: string,
  ctx: RunContext,
  options: RunConnectorOptions = {},
): Promise<void> {
  const caCerts = config.ca ? [await readCaBundle(config.ca)] : undefined;
  const net = egressNetPermissions(config);
  if (net === true) {
    log.warn(
      "Direct paths are on: the egress sandbox allows any network address (backends stay limited by the allow-list in code)",
    );
  } else log.debug("Egress sandbox allows {net}", { net });
  const worker = new Worker(options.workerUrl ?? new URL("./egress_worker.ts", import.meta.url), {
    type: "module",
    deno: {
      permissions: {
        net,
        read: false,
        write: false,
        env: false,
        run: false,
        ffi: false,
        sys: false,
        import: false,
      },
    },
  });
  const ended = new Promise<FromWorker>((resolve) => {
    worker.onmessage = (e: MessageEvent) => {
      const parsed = FromWorker.safeParse(e.data);
      resolve(
        parsed.success ? parsed.data : { type: "failed", message: "malformed message from worker" },
      );
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      resolve({ type: "failed", message: e.message });
    };
  });
  const send = (m: ToWorker) => worker.postMessage(m);
  send({
    type: "start",
    config,
    token,
    caCerts,
    // Host candidates for direct paths; listed here because the Worker may not (no `sys`).
    interfaces: config.direct ? hostInterfaces() : [],
    log: options.log ?? { level: "info", format: "text" },
    test: options.test,
  });
  await options.onSandboxStarted?.();
  const onAbort = () => send({ type: "stop" });
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  try {
    const stopped = await Promise.race([
      ended,
      new Promise<"grace">((resolve) => {
        ctx.signal.addEventListener(
          "abort",
          () => setTimeout(() => resolve("grace"), STOP_GRACE_MS),
          {
            once: true,
          },
        );
      }),
    ]);
    if (stopped === "grace") log.warn("Connector sandbox did not stop in time; terminating it");
    else if (stopped.type === "failed") {
      throw new Error(`Connector sandbox failed: ${stopped.message}`);
    }
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    worker.terminate();
  }
}
