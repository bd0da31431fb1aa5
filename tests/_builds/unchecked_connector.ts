/**
 * TEST BUILD ONLY: a connector whose allow-list in code is bypassed — every flow is redirected to
 * the address in ZTNA_TEST_REDIRECT — so a test can prove the Worker sandbox alone still refuses
 * the unlisted destination. Runs with the same permission set as main.ts; never shipped.
 * @module
 */
import { loadRoleConfig } from "../../src/config/mod.ts";
import { runConnector } from "../../src/connector/mod.ts";
import { configureLogging } from "../../src/log/mod.ts";
import { ProcessSignals } from "../../src/runtime/signals.ts";

const [configPath] = Deno.args;
const loaded = await loadRoleConfig(configPath, "connector", {
  ZTNA_TOKEN: Deno.env.get("ZTNA_TOKEN"),
});
if (loaded.role !== "connector") throw new Error("expected a connector config");
configureLogging(loaded.log);
using signals = new ProcessSignals({ onForceExit: () => Deno.exit(130) });
await runConnector(loaded.config, loaded.token, signals, {
  log: loaded.log,
  workerUrl: new URL("./unchecked_egress_worker.ts", import.meta.url),
  test: { redirect: Deno.env.get("ZTNA_TEST_REDIRECT") ?? "" },
});
