/**
 * Entry of a role's sandbox: a Deno Worker whose `net` permission is exactly what the role's config
 * names (role_permissions.ts); read, write, env, sys and run are inherited from the process, which
 * keeps no `net` grant of its own once this Worker runs. The relay and the client run here whole,
 * so no payload crosses a postMessage boundary; main.ts forwards stop and reload.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RunContext } from "../runtime/run_context.ts";
import { ConfigError } from "../config/config_error.ts";
import { ClientConnectSection, ClientSection, IntermediateSection } from "../config/schema.ts";
import { configureLogging } from "../log/mod.ts";
import { type FromRoleWorker, type RoleStart, ToRoleWorker } from "./role_messages.ts";
import type { z } from "zod";

const log = getLogger(["ztna", "cli", "signals"]);

/** Hooks a test build of the Worker may set (the production Worker sets none). */
export interface RoleWorkerHooks {
  /** Runs inside the sandbox before the role starts, e.g. to try an address outside the config. */
  beforeRun?(start: z.infer<typeof RoleStart>, test: Record<string, string>): Promise<void>;
}

/** The RunContext of the role inside the Worker: main.ts turns signals into messages. */
class MessageContext implements RunContext {
  readonly #stop = new AbortController();
  readonly #handlers: Array<() => void | Promise<void>> = [];
  #reloading: Promise<void> = Promise.resolve();
  /** The config of the reload in progress, when main re-read one (the client's). */
  config: unknown;

  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  onReload(handler: () => void | Promise<void>): void {
    this.#handlers.push(handler);
  }

  stop(): void {
    this.#stop.abort(new DOMException("Stopped by a signal", "AbortError"));
  }

  /** Runs every handler in order after any reload in progress; a failing one is logged. */
  reload(config?: unknown): Promise<void> {
    this.#reloading = this.#reloading.then(async () => {
      this.config = config;
      for (const handler of this.#handlers) {
        try {
          await handler();
        } catch (error) {
          log.error("Reload failed, keeping the previous settings: {error}", { error });
        }
      }
    });
    return this.#reloading;
  }
}

/** Runs the role of `start` until `ctx.signal` aborts; loads only that role's code. */
async function runRole(start: z.infer<typeof RoleStart>, ctx: MessageContext): Promise<void> {
  switch (start.role) {
    case "intermediate": {
      const { runIntermediate } = await import("../relay/mod.ts");
      return await runIntermediate(IntermediateSection.parse(start.config), ctx);
    }
    case "client": {
      if (start.connect !== undefined) {
        const { runConnect } = await import("../client/connect.ts");
        const config = ClientConnectSection.parse(start.config);
        return await runConnect(config, start.token ?? "", start.connect, ctx);
      }
      const { runClient } = await import("../client/mod.ts");
      return await runClient(ClientSection.parse(start.config), start.token ?? "", ctx, {
        reloadedConfig: () => {
          if (ctx.config === undefined) return undefined;
          const parsed = ClientSection.safeParse(ctx.config);
          if (parsed.success) return parsed.data;
          log.error("Reload: the re-read client config did not validate in the sandbox");
          return undefined;
        },
      });
    }
    case "connector":
      // The connector's data plane has its own, narrower sandbox (src/connector/egress_worker.ts).
      throw new Error("the connector runs in its egress Worker, not in a role sandbox");
  }
}

/** The failure message main.ts reports; a ConfigError keeps its fields (exit status 2). */
function failure(error: unknown): FromRoleWorker {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof ConfigError)) return { type: "failed", message };
  const fields = (e: ConfigError) => ({
    file: e.file,
    problem: e.problem,
    ...(e.keyPath === undefined ? {} : { keyPath: e.keyPath }),
    ...(e.hint === undefined ? {} : { hint: e.hint }),
  });
  return { type: "failed", message, config: { ...fields(error), more: error.more.map(fields) } };
}

/** Installs the message handler; called by this module and by test builds with hooks. */
export function serveRoleWorker(hooks: RoleWorkerHooks = {}): void {
  const scope = self as unknown as Worker;
  const post = (m: FromRoleWorker) => scope.postMessage(m);
  const ctx = new MessageContext();
  scope.onmessage = (event: MessageEvent) => {
    const parsed = ToRoleWorker.safeParse(event.data);
    if (!parsed.success) return post({ type: "failed", message: "malformed message from main" });
    const msg = parsed.data;
    switch (msg.type) {
      case "stop":
        return ctx.stop();
      case "reload":
        return void ctx.reload(msg.config).then(() => post({ type: "reloaded" }));
      case "start":
        configureLogging(msg.log);
        (async () => {
          await hooks.beforeRun?.(msg, msg.test ?? {});
          await runRole(msg, ctx);
        })().then(
          () => post({ type: "stopped" }),
          (error) => post(failure(error)),
        );
    }
  };
}

if (import.meta.main) serveRoleWorker();
