/**
 * What main.ts hands to every role runner: the stop signal, SIGHUP reload hooks, the config's folder.
 * @module
 */

/** Context for a long-running role; main.ts owns the signals and maps errors to exit codes. */
export interface RunContext {
  /** Aborted on SIGINT/SIGTERM: stop accepting, drain, then resolve the runner's promise. */
  readonly signal: AbortSignal;
  /** Registers a handler run on SIGHUP (re-read certificates, keys, revocations). */
  onReload(handler: () => void | Promise<void>): void;
}
