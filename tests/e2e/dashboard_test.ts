/**
 * The dashboard in a real browser: runs tests/e2e/_dashboard_browser.ts (playwright-core driving
 * Debian's Chromium against a real relay) in a child `deno test -A`, because playwright-core reads
 * /proc paths that Deno allows only with all permissions. CI installs Chromium (.ci/run); on a
 * machine without /usr/bin/chromium the test is skipped unless CI is set.
 * @module
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "../_helpers/ztna_process.ts";

const hasChromium = (() => {
  try {
    return Deno.statSync("/usr/bin/chromium").isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "dashboard in Chromium: sign in, watch a client appear, revoke its token, see it refused",
  ignore: !hasChromium && Deno.env.get("CI") === undefined,
  async fn() {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        "-A",
        // Type-checked with the rest of tests/ by `deno task check`.
        "--no-check",
        "--config",
        `${REPO_ROOT}/deno.json`,
        `${REPO_ROOT}/tests/e2e/_dashboard_browser.ts`,
      ],
      cwd: REPO_ROOT,
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /ok \| 1 passed \| 0 failed/, text);
  },
});
