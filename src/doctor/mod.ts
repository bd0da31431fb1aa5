/**
 * `ztna doctor`: for a user whose connection fails, every relay of a client or connector config
 * probed — name, QUIC with HELLO, TCP/TLS, certificate, token, NAT mapping, direct path, proxy —
 * and a one-line verdict with the fix; `--json` prints the report as {@link DoctorReport}.
 * @module
 */
import type { Env } from "../config/mod.ts";
import { diagnose } from "./diagnose.ts";
import { type DoctorSources, loadDoctorInput } from "./load.ts";
import { renderReport } from "./render.ts";

export { diagnose, type DoctorInput } from "./diagnose.ts";
export { type DoctorSources, loadDoctorInput, PROBE_TIMEOUT_MS } from "./load.ts";
export { DoctorReport, Verdict } from "./report.ts";
export { renderReport } from "./render.ts";
export { verdict } from "./verdict.ts";

/** Options of {@link runDoctor}. */
export interface RunDoctorOptions extends DoctorSources {
  json: boolean;
  /** Where the report goes (standard output). */
  write: (text: string) => void;
}

/**
 * Loads the config, probes, prints the report.
 * @returns the exit status: 0 when a usable path to a relay exists, 1 otherwise
 * @throws {ConfigError} when the config cannot be loaded (main.ts: exit status 2)
 */
export async function runDoctor(options: RunDoctorOptions, env: Env): Promise<number> {
  const input = await loadDoctorInput(options, env);
  const report = await diagnose(input);
  options.write(options.json ? JSON.stringify(report, null, 2) + "\n" : renderReport(report));
  return report.verdict.ok ? 0 : 1;
}
