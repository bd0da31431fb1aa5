/**
 * The connector role: reads what the sandbox may not (CA file), then runs the data plane inside
 * an egress Worker whose network permission is exactly the configured relays and backends; SIGHUP
 * reads the config again and moves changed services to a new egress Worker (data_planes.ts).
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RunContext } from "../runtime/run_context.ts";
import type { ConnectorConfig, LogConfig } from "../config/schema.ts";
import type { LoadedConfig } from "../config/load.ts";
import { readCaBundle } from "../config/files.ts";
import { dialerProxyCredentials } from "../config/proxy_settings.ts";
import { EgressLauncher } from "./egress_sandbox.ts";
import { DataPlanes, type PlaneEnd } from "./data_planes.ts";
import { reloadConnector } from "./reload.ts";
import { serveConnectorStatus } from "./connector_status.ts";

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
  /** Reads the config again on SIGHUP; without it SIGHUP changes nothing here. */
  reloadConfig?: () => Promise<LoadedConfig>;
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
  // Read here: the egress sandbox reads no file and no variable.
  const proxyCredentials = await dialerProxyCredentials(config, "connector");
  // Made before main drops its network: it keeps the grant a reload's new Worker needs.
  const launcher = new EgressLauncher();
  const planes = new DataPlanes(
    launcher,
    {
      workerUrl: options.workerUrl ?? new URL("./egress_worker.ts", import.meta.url),
      caCerts,
      ...(proxyCredentials === undefined ? {} : { proxyCredentials }),
      log: options.log ?? { level: "info", format: "text" },
      test: options.test,
    },
    config,
    token,
  );
  // Bound before main drops its network: an accepting listener needs no permission afterwards.
  const stopStatus = new AbortController();
  let status: Deno.HttpServer | undefined;
  try {
    if (config.status_listen) {
      status = serveConnectorStatus(config.status_listen, planes, stopStatus.signal, log);
    }
  } catch (error) {
    planes.current.worker.terminate();
    launcher.close();
    throw error;
  }
  await options.onSandboxStarted?.();
  const reloadConfig = options.reloadConfig;
  if (reloadConfig !== undefined) ctx.onReload(() => reloadConnector(planes, reloadConfig));
  const onAbort = () => {
    for (const plane of planes.all()) plane.worker.send({ type: "stop" });
  };
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  try {
    const stopped = await Promise.race([
      planes.failed,
      stoppedAll(planes, ctx.signal),
    ]);
    if (stopped === "grace") log.warn("Connector sandbox did not stop in time; terminating it");
    else if (stopped.type === "failed") {
      throw new Error(`Connector sandbox failed: ${stopped.message}`);
    }
  } finally {
    ctx.signal.removeEventListener("abort", onAbort);
    for (const plane of planes.all()) plane.worker.terminate();
    launcher.close();
    stopStatus.abort();
    await status?.finished;
  }
}

/** After `signal`: every data plane's end, or "grace" when one takes longer than the grace. */
function stoppedAll(planes: DataPlanes, signal: AbortSignal): Promise<PlaneEnd | "grace"> {
  return new Promise((resolve) => {
    signal.addEventListener("abort", () => {
      const timer = setTimeout(() => resolve("grace"), STOP_GRACE_MS);
      const current = planes.current.worker.ended;
      void Promise.all(planes.all().map((p) => p.worker.ended)).then(async () => {
        clearTimeout(timer);
        resolve(await current);
      });
    }, { once: true });
  });
}
