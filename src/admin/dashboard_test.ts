/**
 * Static checks of the dashboard files (the browser test in tests/e2e/dashboard_test.ts drives the
 * real page): the script compiles, the page loads nothing from elsewhere, and relay data can only
 * ever reach the page as text.
 * @module
 */
import assert from "node:assert/strict";
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from "./dashboard.ts";

Deno.test("dashboard script is valid JavaScript", () => {
  // Compiles without running: a syntax error throws here.
  assert.equal(typeof new Function(DASHBOARD_JS), "function");
});

Deno.test("dashboard loads only its own files (works offline, no CDN)", () => {
  for (const text of [DASHBOARD_HTML, DASHBOARD_CSS, DASHBOARD_JS]) {
    assert.doesNotMatch(text, /https?:\/\//);
    assert.doesNotMatch(text, /@import|url\(/);
  }
  assert.match(DASHBOARD_HTML, /src="\/dashboard\/app\.js"/);
  assert.match(DASHBOARD_HTML, /href="\/dashboard\/app\.css"/);
  assert.doesNotMatch(DASHBOARD_HTML, /<script>|style=|onclick=/, "no inline code (CSP)");
});

Deno.test("dashboard script never writes HTML from data and keeps the token per tab", () => {
  assert.doesNotMatch(DASHBOARD_JS, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  assert.doesNotMatch(DASHBOARD_JS, /localStorage|document\.cookie/);
  assert.match(DASHBOARD_JS, /sessionStorage/);
});
