/**
 * Runs the relay or the client inside its role sandbox (role_worker.ts): a Worker whose `net`
 * permission is exactly what the config names. main.ts revokes the process's own `net` once the
 * Worker exists (a Worker keeps the grant it was created with), so no thread of a running role can
 * reach an address its config does not name. Stop and reload travel as messages.
 * @module
 */
import type { RunContext } from "../runtime/run_context.ts";
import { ConfigError } from "../config/config_error.ts";
import type { LoadedConfig } from "../config/load.ts";
import type { LogConfig } from "../config/schema.ts";
import { FromRoleWorker, type ToRoleWorker } from "./role_messages.ts";
import { listenerOutsideSandbox, roleNetPermissions } from "./role_permissions.ts";
import type { ClientConfig } from "../config/schema.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["ztna", "client"]);

export {
  permissionFlags,
  type RoleConfig,
  roleFiles,
  roleNetPermissions,
} from "./role_permissions.ts";

/** The Worker entry of the role sandbox; `ztna admin permissions` lists it (deno run reads it). */
export const ROLE_WORKER_URL = new URL("./role_worker.ts", import.meta.url);

/** Options of {@link runRoleSandboxed}. */
export interface RoleSandboxOptions {
  log: LogConfig;
  /** Runs once the Worker exists: main.ts revokes the process's `net` here. */
  onSandboxStarted?: () => Promise<void>;
  /** The Worker module; only test builds replace it. */
  workerUrl?: URL;
  /** Extra values for a test build of the Worker. */
  test?: Record<string, string>;
  /** `ztna connect`: run the client's one flow to this service on stdin and stdout. */
  connect?: string;
  /** The client's config read again on SIGHUP (its forwards and endpoints follow it). */
  reloadConfig?: () => Promise<LoadedConfig>;
}

/** The error main.ts reports for a failed role: a ConfigError again (exit 2), else an Error. */
function rethrown(failed: Extract<FromRoleWorker, { type: "failed" }>): Error {
  if (failed.config === undefined) return new Error(failed.message);
  const { more, ...first } = failed.config;
  return new ConfigError({ ...first, more: more.map((m) => new ConfigError(m)) });
}

/** The Worker of the role sandbox: `net` exactly as given, files as the process has them. */
function roleWorker(url: URL, net: string[] | true): Worker {
  return new Worker(url, {
    type: "module",
    deno: {
      permissions: {
        net,
        // Files stay as the process has them: the roles read certificates and keys, the relay
        // writes its state; Deno's permission set and systemd narrow those.
        read: "inherit",
        write: "inherit",
        env: "inherit",
        sys: "inherit",
        run: "inherit",
        ffi: false,
        import: false,
      },
    },
  });
}

/**
 * The Worker's last word (stopped, or failed); each `reloaded` answer on the way resolves the oldest
 * waiting reload.
 */
function workerEnd(worker: Worker, reloads: Array<() => void>): Promise<FromRoleWorker> {
  return new Promise<FromRoleWorker>((resolve) => {
    worker.onmessage = (e: MessageEvent) => {
      const parsed = FromRoleWorker.safeParse(e.data);
      if (!parsed.success) return resolve({ type: "failed", message: "malformed message" });
      if (parsed.data.type === "reloaded") return reloads.shift()?.();
      resolve(parsed.data);
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      resolve({ type: "failed", message: e.message });
    };
  });
}

/**
 * The client's config read again, or undefined to keep the running one: a config that does not
 * load, or a listener the sandbox cannot bind, is logged with its key and changes nothing.
 */
async function reloadedClientConfig(
  loaded: Extract<LoadedConfig, { role: "intermediate" | "client" }>,
  net: string[] | true,
  reloadConfig: (() => Promise<LoadedConfig>) | undefined,
): Promise<ClientConfig | undefined> {
  if (loaded.role !== "client" || reloadConfig === undefined) return undefined;
  try {
    const next = await reloadConfig();
    if (next.role !== "client") return undefined;
    const outside = listenerOutsideSandbox(net, next.config);
    if (outside !== undefined) {
      throw new ConfigError({
        file: "reload",
        keyPath: outside.keyPath,
        problem: `${outside.address} is outside the client's sandbox (its network is fixed ` +
          "when it starts): restart the client to listen on a new address",
      });
    }
    return next.config;
  } catch (error) {
    const lines = error instanceof ConfigError
      ? [error.message, ...error.more.map((e) => e.message)]
      : [error instanceof Error ? error.message : String(error)];
    log.error("Reload failed, keeping the previous client config: {error}", {
      error: lines.join("; "),
    });
    return undefined;
  }
}

/**
 * Runs the relay or client of `loaded` in its sandbox until `ctx.signal` aborts and the role has
 * stopped. @throws what the role threw (a ConfigError stays one)
 */
export async function runRoleSandboxed(
  loaded: Extract<LoadedConfig, { role: "intermediate" | "client" }>,
  ctx: RunContext,
  options: RoleSandboxOptions,
): Promise<void> {
  const net = roleNetPermissions(loaded);
  const worker = roleWorker(options.workerUrl ?? ROLE_WORKER_URL, net);
  const reloads: Array<() => void> = [];
  let done = false;
  const ended = workerEnd(worker, reloads);
  const send = (m: ToRoleWorker) => worker.postMessage(m);
  const nextClientConfig = () => reloadedClientConfig(loaded, net, options.reloadConfig);
  const onAbort = () => send({ type: "stop" });
  try {
    send({
      type: "start",
      role: loaded.role,
      config: loaded.config,
      ...(loaded.role === "client" ? { token: loaded.token } : {}),
      ...(options.connect === undefined ? {} : { connect: options.connect }),
      log: options.log,
      ...(options.test === undefined ? {} : { test: options.test }),
    });
    await options.onSandboxStarted?.();
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    if (ctx.signal.aborted) onAbort();
    ctx.onReload(() =>
      new Promise<void>((resolve) => {
        if (done) return resolve();
        reloads.push(resolve);
        void nextClientConfig().then((config) =>
          send({ type: "reload", ...(config === undefined ? {} : { config }) })
        );
      })
    );
    const end = await ended;
    if (end.type === "failed") throw rethrown(end);
  } finally {
    done = true;
    ctx.signal.removeEventListener("abort", onAbort);
    for (const resolve of reloads.splice(0)) resolve();
    worker.terminate();
  }
}
