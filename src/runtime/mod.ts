/**
 * Lifecycle pieces below every role: the run context a runner gets (stop signal, reload hooks) and
 * the process signals that drive it.
 * @module
 */
export type { RunContext } from "./run_context.ts";
export { ProcessSignals, type SignalSource } from "./signals.ts";
