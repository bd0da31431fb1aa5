/**
 * A browser through the client's SOCKS5 endpoint: runs tests/e2e/_client_browser.ts (playwright-core
 * driving Debian's Chromium with `--proxy-server=socks5://…`) in a child `deno test -A`, because
 * playwright-core reads /proc paths that Deno allows only with all permissions. CI installs
 * Chromium (.ci/run); on a machine without /usr/bin/chromium the test is skipped unless CI is set.
 * @module
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "../_helpers/ztna_process.ts";
import { hasChromium } from "../_helpers/chromium.ts";

Deno.test({
  name: "Chromium through the client's SOCKS5 endpoint loads a ztna service's page by name",
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
        `${REPO_ROOT}/tests/e2e/_client_browser.ts`,
      ],
      cwd: REPO_ROOT,
      stdin: "null",
      env: { NO_COLOR: "1" },
      signal: AbortSignal.timeout(120_000),
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /ok \| 1 passed \| 0 failed/, text);
  },
});
