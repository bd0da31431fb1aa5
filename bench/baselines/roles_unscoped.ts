/**
 * Baseline for the role sandbox cost (bench/role_scoping.ts): the relay or the client run on the
 * process's main thread with the whole permission set's `net`, instead of inside the Worker whose
 * `net` is exactly its config (src/sandbox, what `main.ts --role=…` does). Same config loading,
 * same permission set (`-P=ztna`), same code on the data path. A bench-only program: never shipped.
 *
 * Usage: `deno run -P=ztna --config deno.json bench/baselines/roles_unscoped.ts ROLE CONFIG`
 * (ROLE: intermediate or client). SIGTERM or SIGINT stops it.
 * @module
 */
import { type Env, ENV_VARS, loadRoleConfig } from "../../src/config/mod.ts";
import { configureLogging } from "../../src/log/mod.ts";
import { ProcessSignals } from "../../src/runtime/signals.ts";

if (import.meta.main) {
  const [role, path] = Deno.args;
  if (role !== "intermediate" && role !== "client") {
    throw new RangeError("Cannot start the unscoped baseline: ROLE must be intermediate or client");
  }
  const env: Env = Object.fromEntries(Object.keys(ENV_VARS).map((k) => [k, undefined]));
  const loaded = await loadRoleConfig(path, role, env);
  configureLogging(loaded.log);
  using signals = new ProcessSignals({ onForceExit: () => Deno.exit(130) });
  if (loaded.role === "intermediate") {
    const { runIntermediate } = await import("../../src/relay/mod.ts");
    await runIntermediate(loaded.config, signals);
  } else if (loaded.role === "client") {
    const { runClient } = await import("../../src/client/mod.ts");
    await runClient(loaded.config, loaded.token, signals);
  }
  Deno.exit(0);
}
