/**
 * The connector's running data planes: the current egress Worker and the ones a reload left
 * draining. A reload that changes the services starts a new Worker with the new `net`, waits until
 * it registered everything, then drains the old one: the old Worker unregisters every service,
 * serves its flows in progress to their end, then stops.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { ConnectorConfig, LogConfig } from "../config/schema.ts";
import { hostInterfaces } from "../p2p/mod.ts";
import type { EgressLauncher, EgressWorker } from "./egress_sandbox.ts";
import { egressNetPermissions } from "./sandbox_permissions.ts";
import type { FromWorker } from "./worker_messages.ts";
import type { WorkerStats } from "./connector_stats.ts";
import type { ProxyCredentials } from "../protocol/proxy_url.ts";

const log = getLogger(["ztna", "connector"]);

/** How a data plane ended. */
export type PlaneEnd = Extract<FromWorker, { type: "stopped" | "failed" }>;

/** What every data plane gets besides its config. */
export interface PlaneOptions {
  workerUrl: URL;
  caCerts?: string[];
  /** Basic credentials for the HTTP proxy (the sandbox cannot read them itself). */
  proxyCredentials?: ProxyCredentials;
  log: LogConfig;
  test?: Record<string, string>;
}

/** One data plane: its Worker and the config it serves. */
export interface Plane {
  worker: EgressWorker;
  config: ConnectorConfig;
}

/** The current data plane, the draining ones, and how the current one ended. */
export class DataPlanes {
  readonly draining = new Set<Plane>();
  #current: Plane;
  #fail: (end: PlaneEnd) => void = () => {};
  /** Gets the last counters of a draining data plane that stopped (the status keeps totals). */
  onRetired: (stats: WorkerStats) => void = () => {};
  /** Settles when the current data plane ends on its own (it failed, or stopped unasked). */
  readonly failed: Promise<PlaneEnd>;

  constructor(
    readonly launcher: EgressLauncher,
    readonly options: PlaneOptions,
    config: ConnectorConfig,
    token: string,
  ) {
    this.failed = new Promise((resolve) => this.#fail = resolve);
    this.#current = this.#start(config, token);
  }

  get current(): Plane {
    return this.#current;
  }

  #start(config: ConnectorConfig, token: string): Plane {
    const net = egressNetPermissions(config);
    if (net === true) {
      log.warn(
        "Direct paths are on: the egress sandbox allows any network address (backends stay limited by the allow-list in code)",
      );
    } else log.debug("Egress sandbox allows {net}", { net });
    const worker = this.launcher.spawn(this.options.workerUrl, net);
    const plane = { worker, config };
    worker.send({
      type: "start",
      config,
      token,
      caCerts: this.options.caCerts,
      ...(this.options.proxyCredentials === undefined
        ? {}
        : { proxyCredentials: this.options.proxyCredentials }),
      // Host candidates for direct paths; listed here because the Worker may not (no `sys`).
      interfaces: config.direct ? hostInterfaces() : [],
      log: this.options.log,
      test: this.options.test,
    });
    void worker.ended.then((end) => {
      if (plane === this.#current) return this.#fail(end);
      // A new plane that never became current: replace() reports its end.
      if (!this.draining.delete(plane)) return;
      if (worker.lastStats) this.onRetired(worker.lastStats);
      worker.terminate();
      if (end.type === "failed") {
        log.error("A draining data plane failed: {message}", { message: end.message });
      } else log.info("The previous data plane served its last flow and stopped");
    });
    return plane;
  }

  /**
   * Starts `config` in a new Worker; once it is ready (or `readyMs` passed) it becomes current and
   * the previous one drains. A Worker that fails before it is ready changes nothing.
   * @throws {Error} when the new Worker fails to start
   */
  async replace(config: ConnectorConfig, token: string, readyMs: number): Promise<void> {
    const old = this.#current;
    const next = this.#start(config, token);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      next.worker.ready.then(() => "ready" as const),
      next.worker.ended.then((end) => end),
      new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), readyMs)),
    ]);
    clearTimeout(timer);
    if (outcome !== "ready" && outcome !== "late") {
      next.worker.terminate();
      throw new Error(outcome.type === "failed" ? outcome.message : "new data plane stopped");
    }
    if (outcome === "late") {
      log.warn(
        "Reload: not every relay answered the new registrations in {ms} ms; switching anyway",
        {
          ms: readyMs,
        },
      );
    }
    this.#current = next;
    this.draining.add(old);
    old.worker.send({ type: "drain" });
  }

  /** Every live data plane. */
  all(): Plane[] {
    return [this.#current, ...this.draining];
  }
}
