/**
 * A process started inside a lab namespace (`ip netns exec <ns> <cmd…>`): its output is collected
 * and searchable, so tests wait for a readiness line instead of sleeping. `ip netns exec` execs the
 * command, so `pid` and every signal reach the program itself.
 * @module
 */
import { WatchedProcess } from "../_helpers/watched_process.ts";

/** A running command whose stdout and stderr are collected. */
export class LabProcess extends WatchedProcess {
  /** Starts `cmd` (program first) with an optional prefix such as `["ip", "netns", "exec", ns]`. */
  constructor(cmd: string[], options: { name?: string; wrapper?: string[] } = {}) {
    const full = [...(options.wrapper ?? []), ...cmd];
    if (full.length === 0) {
      throw new RangeError(
        "Cannot spawn a lab process as 'cmd' must not be empty: current value is []",
      );
    }
    super(full[0], full.slice(1), {
      name: options.name ?? cmd.join(" "),
      waitTimeoutMs: 10_000,
      stopGraceMs: 2_000,
    });
  }
}
