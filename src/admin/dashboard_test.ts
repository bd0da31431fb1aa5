/**
 * Static checks of the dashboard files (the browser test in tests/e2e/dashboard_test.ts drives the
 * real page; `deno task check` type-checks its scripts with the DOM lib): what is served is the
 * files in src/admin/dashboard/, the page loads nothing from elsewhere, and relay data can only
 * ever reach the page as text.
 * @module
 */
import assert from "node:assert/strict";
import { DASHBOARD_FILES, DASHBOARD_PAGE } from "./dashboard.ts";

const FOLDER = new URL("./dashboard/", import.meta.url);
const decoder = new TextDecoder();
const HTML = decoder.decode(DASHBOARD_PAGE.body);
/** The scripts without their comments (which may name what the code must not do). */
const SCRIPTS = [...DASHBOARD_FILES].filter(([name]) => name.endsWith(".js"))
  .map(([name, file]) => ({ name, text: withoutComments(decoder.decode(file.body)) }));
const STYLES = [...DASHBOARD_FILES].filter(([name]) => name.endsWith(".css"))
  .map(([, file]) => decoder.decode(file.body));

function withoutComments(js: string): string {
  return js.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

Deno.test("dashboard serves every page file of src/admin/dashboard/, byte for byte", async () => {
  const onDisk = new Set<string>();
  for await (const entry of Deno.readDir(FOLDER)) {
    if (/\.(html|css|js)$/.test(entry.name)) onDisk.add(entry.name);
  }
  assert.deepEqual(onDisk, new Set(["index.html", ...DASHBOARD_FILES.keys()]));
  assert.deepEqual(DASHBOARD_PAGE.body, await Deno.readFile(new URL("index.html", FOLDER)));
  for (const [name, file] of DASHBOARD_FILES) {
    assert.deepEqual(file.body, await Deno.readFile(new URL(name, FOLDER)), name);
  }
});

Deno.test("dashboard loads only its own files (works offline, no CDN)", () => {
  for (const text of [HTML, ...STYLES, ...SCRIPTS.map((s) => s.text)]) {
    assert.doesNotMatch(text, /https?:\/\//);
    assert.doesNotMatch(text, /@import\s|url\(/);
  }
  assert.match(HTML, /src="\/dashboard\/app\.js"/);
  assert.match(HTML, /href="\/dashboard\/app\.css"/);
  assert.doesNotMatch(HTML, /<script>|style=|onclick=/, "no inline code (CSP)");
  for (const { name, text } of SCRIPTS) {
    // Module imports resolve beside the script, under /dashboard/: each must be a served file.
    for (const [, target] of text.matchAll(/^import\b[^;]*?from\s+"([^"]+)";/gms)) {
      const file = /^\.\/([a-z_]+\.js)$/.exec(target)?.[1];
      assert.ok(file !== undefined && DASHBOARD_FILES.has(file), `${name} imports ${target}`);
    }
  }
});

Deno.test("dashboard script never writes HTML from data and keeps the token per tab", () => {
  const all = SCRIPTS.map((s) => s.text).join("\n");
  assert.doesNotMatch(all, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  assert.doesNotMatch(all, /localStorage|document\.cookie/);
  assert.match(all, /sessionStorage/);
});

Deno.test("dashboard scripts use no Deno API (their type check sees Deno's types for the schemas)", () => {
  for (const { name, text } of SCRIPTS) assert.doesNotMatch(text, /\bDeno\./, name);
});
