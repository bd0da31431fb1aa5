/**
 * Run by client_browser_test.ts in a child `deno test -A` (playwright-core reads /proc paths that
 * Deno opens only with all permissions). Debian's Chromium, driven by playwright-core, uses the
 * client's SOCKS5 endpoint as its proxy and loads `http://web.ztna/` — a page served by a ztna
 * service, found by name through the proxy — with a script and the JSON it fetches as subresources.
 * The name has no `_test` so `deno test tests/` does not collect it directly.
 * @module
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { Fixture, freeTcpPort } from "../_helpers/cluster.ts";
import { CHROMIUM, CHROMIUM_ARGS, hasChromium } from "../_helpers/chromium.ts";

const PAGE = `<!doctype html>
<html><head><title>ztna web</title><script src="/app.js"></script></head>
<body><h1 id="title">Served through ztna</h1><p id="data">waiting</p></body></html>`;
const SCRIPT = `addEventListener("DOMContentLoaded", async () => {
  const res = await fetch("/data.json");
  document.getElementById("data").textContent = (await res.json()).message;
});`;

/** The web service's backend: the page, its script and the JSON; counts what it served. */
function webBackend() {
  const served: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    served.push(`${path} host=${req.headers.get("host")}`);
    if (path === "/") return new Response(PAGE, { headers: { "content-type": "text/html" } });
    if (path === "/app.js") {
      return new Response(SCRIPT, { headers: { "content-type": "text/javascript" } });
    }
    if (path === "/data.json") return Response.json({ message: "subresource via SOCKS5" });
    return new Response("not found", { status: 404 });
  });
  return { server, port: server.addr.port, served };
}

Deno.test({
  name: "Chromium with the client's SOCKS5 proxy loads a page of a ztna service by name",
  ignore: !hasChromium && Deno.env.get("CI") === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using fx = await Fixture.create("client-browser");
    const web = webBackend();
    const profile = await Deno.makeTempDir({ prefix: "ztna-chromium-" });
    try {
      const { relayPort } = await fx.served(web.port);
      const socks = freeTcpPort();
      const client = await fx.client(
        [relayPort],
        {},
        (await fx.token("client", { services: ["web"] })).path,
        { extra: `direct = false\nsocks = "127.0.0.1:${socks}"` },
      );
      await client.waitFor(/SOCKS5 endpoint listening on/);
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        // socks5:// makes Chromium send the host name to the proxy (no local DNS lookup of
        // web.ztna); the name is not a loopback host, so nothing bypasses the proxy.
        args: [...CHROMIUM_ARGS, `--proxy-server=socks5://127.0.0.1:${socks}`],
      });
      try {
        const page = context.pages()[0] ?? await context.newPage();
        const response = await page.goto("http://web.ztna/", { timeout: 20_000 });
        assert.equal(response?.status(), 200);
        assert.equal(await page.title(), "ztna web");
        assert.equal(await page.textContent("#title"), "Served through ztna");
        await page.waitForSelector("#data:has-text('subresource via SOCKS5')", { timeout: 10_000 });
      } finally {
        await context.close();
      }
      // The page and both subresources came through the tunnel, asked for by name.
      for (const path of ["/", "/app.js", "/data.json"]) {
        assert.ok(web.served.includes(`${path} host=web.ztna`), `${path}: ${web.served}`);
      }
    } finally {
      await web.server.shutdown();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});
