/**
 * SIGHUP on a connector: read the config again; an invalid one is logged with its key and changes
 * nothing; changed services move to a new egress Worker (data_planes.ts); other changed keys are
 * named as needing a restart.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { ConfigError } from "../config/config_error.ts";
import type { LoadedConfig } from "../config/load.ts";
import type { DataPlanes } from "./data_planes.ts";
import { changesServices, planReload } from "./reload_plan.ts";

const log = getLogger(["ztna", "connector"]);

function describe(error: unknown): string {
  const lines = error instanceof ConfigError
    ? [error.message, ...error.more.map((e) => e.message)]
    : [error instanceof Error ? error.message : String(error)];
  return lines.join("; ");
}

/** Applies the config `read` returns to `planes`; never throws (a failure keeps the running one). */
export async function reloadConnector(
  planes: DataPlanes,
  read: () => Promise<LoadedConfig>,
): Promise<void> {
  let loaded: LoadedConfig;
  try {
    loaded = await read();
  } catch (error) {
    log.error("Reload failed, keeping the previous connector config: {error}", {
      error: describe(error),
    });
    return;
  }
  if (loaded.role !== "connector") return;
  const running = planes.current.config;
  const plan = planReload(running, loaded.config);
  if (plan.restartKeys.length > 0) {
    log.warn("Reload: {keys} changed; restart the connector to apply them", {
      keys: plan.restartKeys.join(", "),
    });
  }
  if (!changesServices(plan)) {
    log.info("Reload: services unchanged");
    return;
  }
  if (running.direct && running.direct_port !== 0) {
    log.error(
      "Reload failed, keeping the previous connector config: connector.direct_port: a new data " +
        "plane cannot listen on direct port {port} while the running one holds it; restart the " +
        "connector to change its services",
      { port: running.direct_port },
    );
    return;
  }
  try {
    await planes.replace(plan.next, loaded.token, running.connect_timeout_ms);
  } catch (error) {
    log.error("Reload failed, keeping the previous connector config: {error}", {
      error: describe(error),
    });
    return;
  }
  log.info(
    "Reload applied: added [{added}], removed [{removed}], re-pointed [{repointed}], " +
      "unchanged [{unchanged}]; the previous data plane drains",
    {
      added: plan.added.join(", "),
      removed: plan.removed.join(", "),
      repointed: plan.repointed.join(", "),
      unchanged: plan.unchanged.join(", "),
    },
  );
}
