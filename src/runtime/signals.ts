/**
 * The RunContext main.ts hands to a role: SIGINT/SIGTERM abort its signal (a second one forces
 * exit), SIGHUP runs the registered reload handlers one after another, logging their failures.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RunContext } from "./run_context.ts";

const log = getLogger(["ztna", "cli", "signals"]);

/** Signals that stop the process. */
const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** Where listeners are installed; the default is the process's own signals. */
export interface SignalSource {
  add(signal: Deno.Signal, handler: () => void): void;
  remove(signal: Deno.Signal, handler: () => void): void;
}

/** Options of {@link ProcessSignals}. */
export interface ProcessSignalsOptions {
  /** Called on the second stop signal; main.ts exits there with status 130. */
  onForceExit: (signal: Deno.Signal) => void;
  /** Replaced in tests. @default {Deno.addSignalListener and Deno.removeSignalListener} */
  source?: SignalSource;
}

const PROCESS_SIGNALS: SignalSource = {
  add: (signal, handler) => Deno.addSignalListener(signal, handler),
  remove: (signal, handler) => Deno.removeSignalListener(signal, handler),
};

/** A {@link RunContext} wired to process signals; dispose it to remove the listeners. */
export class ProcessSignals implements RunContext, Disposable {
  readonly #controller = new AbortController();
  readonly #reloadHandlers: Array<() => void | Promise<void>> = [];
  readonly #listeners: Array<[Deno.Signal, () => void]> = [];
  readonly #source: SignalSource;
  readonly #onForceExit: (signal: Deno.Signal) => void;
  #reloading: Promise<void> = Promise.resolve();

  constructor(options: ProcessSignalsOptions) {
    this.#source = options.source ?? PROCESS_SIGNALS;
    this.#onForceExit = options.onForceExit;
    for (const signal of STOP_SIGNALS) this.#listen(signal, () => this.stop(signal));
    this.#listen("SIGHUP", () => void this.reload());
  }

  #listen(signal: Deno.Signal, handler: () => void): void {
    this.#source.add(signal, handler);
    this.#listeners.push([signal, handler]);
  }

  /** Aborted on the first SIGINT or SIGTERM. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  onReload(handler: () => void | Promise<void>): void {
    this.#reloadHandlers.push(handler);
  }

  /** First call aborts {@link signal}; a second one calls `onForceExit`. */
  stop(signal: Deno.Signal): void {
    if (this.#controller.signal.aborted) {
      log.warn("Second {signal}: exiting without draining", { signal });
      this.#onForceExit(signal);
      return;
    }
    log.info("Stopping on {signal}; send it again to exit at once", { signal });
    this.#controller.abort(new DOMException(`Stopped by ${signal}`, "AbortError"));
  }

  /**
   * Runs every reload handler in registration order, after any reload already running.
   * Never rejects: a failing handler is logged and the others still run.
   */
  reload(): Promise<void> {
    this.#reloading = this.#reloading.then(() => this.#runReloadHandlers());
    return this.#reloading;
  }

  async #runReloadHandlers(): Promise<void> {
    log.info("Reloading on SIGHUP ({count} handlers)", { count: this.#reloadHandlers.length });
    for (const handler of this.#reloadHandlers) {
      try {
        await handler();
      } catch (error) {
        log.error("Reload failed, keeping the previous settings: {error}", { error });
      }
    }
  }

  [Symbol.dispose](): void {
    for (const [signal, handler] of this.#listeners.splice(0)) this.#source.remove(signal, handler);
  }
}
