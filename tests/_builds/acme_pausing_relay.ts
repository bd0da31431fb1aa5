/**
 * TEST BUILD ONLY: the relay of main.ts with a pause inside its ACME renewal. When a renewed pair
 * has been written to its temporary file, the file is cut to half its size (as if the machine died
 * in the middle of the write), "TEST: paused before committing <path>" is logged and the process
 * waits forever, so a test can kill -9 it at exactly that point. The first issuance is not paused.
 * Runs with the same permission set as main.ts; never shipped (main.ts sets no test hooks).
 * Arguments as for main.ts: `--role=intermediate --config <file>`.
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { ProcessSignals } from "../../src/runtime/signals.ts";
import { loadRoleConfig } from "../../src/config/mod.ts";
import { configureLogging } from "../../src/log/mod.ts";
import { runIntermediate } from "../../src/relay/mod.ts";

const configPath = Deno.args[Deno.args.indexOf("--config") + 1];
const loaded = await loadRoleConfig(configPath, "intermediate", {});
if (loaded.role !== "intermediate") throw new Error("expected a relay config");
configureLogging(loaded.log);
const log = getLogger(["ztna", "test"]);
using signals = new ProcessSignals({ onForceExit: () => Deno.exit(130) });
await runIntermediate(loaded.config, signals, {
  acmeTestHooks: {
    beforeCommit: async (temporaryPath, kind) => {
      if (kind !== "renew") return;
      const { size } = await Deno.stat(temporaryPath);
      await Deno.truncate(temporaryPath, Math.floor(size / 2));
      log.warn("TEST: paused before committing {path}", { path: temporaryPath });
      await new Promise(() => {}); // until killed
    },
  },
});
