/**
 * Baseline for the Worker sandbox cost (case 6): the connector's data plane, `runConnectorCore`,
 * run on the main thread instead of inside the egress Worker that `main.ts --role=connector` uses.
 * Same config loading, same permission set (`-P=ztna`), same code on the data path; only the
 * sandbox is missing. A bench-only program: it must never ship.
 *
 * Usage: `deno run -P=ztna --config deno.json bench/baselines/connector_unsandboxed.ts CONFIG`
 * Logs like the connector (`Registered service …`); SIGTERM or SIGINT stops it.
 * @module
 */
import { type Env, ENV_VARS, loadRoleConfig } from "../../src/config/mod.ts";
import { runConnectorCore } from "../../src/connector/mod.ts";
import { configureLogging } from "../../src/log/mod.ts";

if (import.meta.main) {
  const path = Deno.args[0];
  if (!path) throw new RangeError("Cannot start the unsandboxed connector as CONFIG is missing");
  const env: Env = Object.fromEntries(Object.keys(ENV_VARS).map((k) => [k, undefined]));
  const loaded = await loadRoleConfig(path, "connector", env);
  if (loaded.role !== "connector") {
    throw new RangeError(
      `Cannot start the unsandboxed connector as ${path} is not a connector config`,
    );
  }
  configureLogging(loaded.log);
  const stop = new AbortController();
  for (const s of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(s, () => stop.abort());
  const caCerts = loaded.config.ca ? [await Deno.readTextFile(loaded.config.ca)] : undefined;
  await runConnectorCore({
    config: loaded.config,
    token: loaded.token,
    caCerts,
    signal: stop.signal,
  });
  Deno.exit(0);
}
