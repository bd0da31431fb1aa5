/**
 * Debian's Chromium for tests driven by playwright-core: where it is, whether it is there, and the
 * flags it runs with on these machines.
 * @module
 */

/** Debian's package installs it here (.ci/run installs it). */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether Chromium is installed on this machine. */
export const hasChromium: boolean = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** Flags for Chromium here: no sandbox as root, no network beyond what a test asks. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
