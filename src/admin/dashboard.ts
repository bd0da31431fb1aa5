/**
 * The admin dashboard's files, as the bytes the admin endpoint serves. The files themselves are in
 * src/admin/dashboard/: index.html, app.css, and the browser modules app.js and format.js
 * (JavaScript with JSDoc types, type-checked with the DOM lib by `deno task check`, see app.js).
 * The page holds no data and loads nothing from elsewhere (no CDN, no build step, works offline).
 *
 * They are text imports, so they belong to main.ts's module graph: `deno compile` embeds them like
 * any module, and the relay reads no file at run time (no read permission, no `--include`).
 * @module
 */
import APP_CSS from "./dashboard/app.css" with { type: "text" };
import APP_JS from "./dashboard/app.js" with { type: "text" };
import FORMAT_JS from "./dashboard/format.js" with { type: "text" };
import INDEX_HTML from "./dashboard/index.html" with { type: "text" };

/** One file of the dashboard. */
export interface DashboardAsset {
  /** The file's bytes (UTF-8), encoded once at start. */
  readonly body: Uint8Array<ArrayBuffer>;
  /** Its `content-type`. */
  readonly contentType: string;
}

const encoder = new TextEncoder();
const HTML = "text/html; charset=utf-8";
const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

function asset(text: string, contentType: string): DashboardAsset {
  return { body: encoder.encode(text), contentType };
}

/** `GET /dashboard`: the page. */
export const DASHBOARD_PAGE: DashboardAsset = asset(INDEX_HTML, HTML);

/**
 * `GET /dashboard/{name}`: what the page loads, by file name (the page and its modules use these
 * paths).
 */
export const DASHBOARD_FILES: ReadonlyMap<string, DashboardAsset> = new Map([
  ["app.css", asset(APP_CSS, CSS)],
  ["app.js", asset(APP_JS, JS)],
  ["format.js", asset(FORMAT_JS, JS)],
]);
