/**
 * Lifecycle pieces below every role: the run context a runner gets (stop signal, reload hooks), the
 * process signals that drive it, and the one deadline race.
 * @module
 */
export type { RunContext } from "./run_context.ts";
export { ProcessSignals, type SignalSource } from "./signals.ts";
export { deadline, TIMED_OUT } from "./deadline.ts";
