/**
 * TEST BUILD ONLY: main.ts's own role start-up (startRole), with a sandbox Worker that first tries
 * to reach ZTNA_TEST_PROBE, an address outside the config, and prints what Deno answered; the main
 * thread tries the same once it has dropped its network access. Never shipped.
 * Usage: probing_role.ts <role> <config>
 * @module
 */
import { startRole } from "../../main.ts";
import { ProcessSignals } from "../../src/runtime/signals.ts";
import { loadRoleConfig, Role } from "../../src/config/mod.ts";
import { configureLogging } from "../../src/log/mod.ts";
import { report } from "./_probe.ts";

const [role, configPath] = Deno.args;
const target = Deno.env.get("ZTNA_TEST_PROBE") ?? "";
const loaded = await loadRoleConfig(configPath, Role.parse(role), {
  ZTNA_TOKEN: Deno.env.get("ZTNA_TOKEN"),
});
configureLogging(loaded.log);
using signals = new ProcessSignals({ onForceExit: () => Deno.exit(130) });
const worker = loaded.role === "connector" ? "probing_egress_worker.ts" : "probing_role_worker.ts";
await startRole(loaded, loaded.log, signals, {
  workerUrl: new URL(`./${worker}`, import.meta.url),
  test: { probe: target },
  afterDrop: () => report("main", target),
});
