/**
 * Run by dashboard_test.ts in a child `deno test -A`: playwright-core probes paths such as
 * /proc/sys/fs/binfmt_misc that Deno opens only with all permissions, which the `test` permission
 * set does not grant. The name has no `_test` so `deno test tests/` does not collect it directly.
 *
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a real relay:
 * sign in with an admin token, issue a client token in the page, see that client's connection
 * appear live with its traffic, revoke the token in the page, see the connection go and the
 * refusal listed. With ZTNA_DASHBOARD_SCREENSHOT=<file> it also saves the screenshot used in the
 * README (docs/dashboard.png).
 * @module
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { Fixture, freeTcpPort, freeUdpPort, httpBackend } from "../_helpers/cluster.ts";
import { CHROMIUM, CHROMIUM_ARGS, hasChromium } from "../_helpers/chromium.ts";

Deno.test({
  name: "dashboard: sign in, watch a client appear, revoke its token, see it refused",
  ignore: !hasChromium && Deno.env.get("CI") === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using fx = await Fixture.create("dashboard");
    const backend = httpBackend("backend");
    const profile = await Deno.makeTempDir({ prefix: "ztna-chromium-" });
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: 1360, height: 900 },
    });
    try {
      const relayPort = freeUdpPort();
      const { url, adminToken } = await fx.adminRelay(relayPort, {
        admin: `token_signing_key = "${await fx.signingKeyFile()}"`,
      });
      await fx.connector(
        [relayPort],
        { web: `127.0.0.1:${backend.port}`, db: `127.0.0.1:${backend.port}` },
        (await fx.token("connector", { subject: "office-connector", services: ["*"] })).path,
      );
      const page = context.pages()[0] ?? await context.newPage();
      // Uncaught script errors and anything the Content-Security-Policy blocked fail the test.
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      page.on("console", (message) => {
        if (/Content Security Policy|Refused to/i.test(message.text())) {
          pageErrors.push(message.text());
        }
      });
      await page.goto(`${url}/dashboard`);

      // A wrong token is refused in the page; the right one signs in and goes live.
      await page.fill("#token", "ztna_admin_not-the-right-one");
      await page.click("#signin-form button[type=submit]");
      await page.waitForSelector("#signin-error:has-text('not accepted')");
      await page.fill("#token", adminToken);
      await page.click("#signin-form button[type=submit]");
      await page.waitForSelector("#status:has-text('live')");
      await page.waitForSelector("#services tr:has-text('web') .pill.up");

      // Issue a client token in the page and hand it to a real client.
      await page.fill("#issue-form input[name=subject]", "alice");
      await page.fill("#issue-form input[name=services]", "web");
      await page.fill("#issue-form input[name=ttl]", "1h");
      await page.click("#issue-form button[type=submit]");
      await page.waitForSelector("#issued:not([hidden])");
      const token = await page.inputValue("#issued-token");
      assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      const tokenId = (await page.textContent("#issued-subject"))?.match(/\(([\w-]+)\)/)?.[1];
      assert.ok(tokenId);
      await page.click("#issued-close");
      const tokenPath = `${fx.dir}/alice.token`;
      await Deno.writeTextFile(tokenPath, token, { mode: 0o600 });
      const local = freeTcpPort();
      const denied = freeTcpPort();
      const client = await fx.client(
        [relayPort],
        { [`127.0.0.1:${local}`]: "web", [`127.0.0.1:${denied}`]: "db" },
        tokenPath,
      );
      const otherLocal = freeTcpPort();
      const ciRunnerToken = await fx.token("client", { subject: "ci-runner", services: ["db"] });
      const ciRunner = await fx.client(
        [relayPort],
        { [`127.0.0.1:${otherLocal}`]: "db" },
        ciRunnerToken.path,
      );

      // The connection appears without a reload; traffic shows up in its byte counters.
      const row = page.locator("#connections tbody tr", { hasText: "alice" });
      await row.waitFor();
      const body = "x".repeat(256 * 1024);
      const traffic = (async () => {
        for (let i = 0; i < 12; i++) {
          using http = Deno.createHttpClient({});
          const res = await fetch(`http://127.0.0.1:${local}/`, {
            method: "POST",
            body,
            client: http,
          });
          await res.text();
          await new Promise((r) => setTimeout(r, 150));
        }
      })();
      await row.locator("td.num", { hasText: /[KM]iB\/s/ }).first().waitFor({ timeout: 10_000 });
      // A flow alice's token does not allow ("db") is refused by the relay.
      await fetch(`http://127.0.0.1:${denied}/`).then((r) => r.text()).catch(() => {});
      await page.waitForSelector(`#tokens tr[data-token="${tokenId}"] .pill.active`);
      const screenshot = Deno.env.get("ZTNA_DASHBOARD_SCREENSHOT");
      if (screenshot) {
        // Something in the refusals list: a contractor whose offline token is revoked by API.
        const contractor = await fx.token("client", { subject: "contractor", services: ["web"] });
        const gone = await fx.client(
          [relayPort],
          { [`127.0.0.1:${freeTcpPort()}`]: "web" },
          contractor.path,
        );
        await fetch(`${url}/api/v1/tokens/revoke`, {
          method: "POST",
          headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
          body: JSON.stringify({ tokenId: contractor.id, reason: "contract ended" }),
        }).then((r) => r.text());
        await gone.waitFor(/Lost relay .*token_revoked/, 5_000);
        await page.waitForSelector("#refusals tbody tr:has-text('contractor')");
        await page.waitForSelector("#audit tbody tr:has-text('token.revoke')");
        await page.screenshot({ path: screenshot, fullPage: true });
      }
      await traffic;

      // Revoke in the page (two clicks: arm, confirm); the relay closes the client at once.
      const revoke = page.locator(`#tokens tr[data-token="${tokenId}"] button`);
      await revoke.click();
      await page.waitForSelector(`#tokens tr[data-token="${tokenId}"] button.armed`);
      await revoke.click();
      await client.waitFor(/Lost relay .*token_revoked/, 5_000);
      await page.waitForSelector(`#tokens tr[data-token="${tokenId}"] .pill.revoked`);
      await row.waitFor({ state: "detached", timeout: 10_000 });
      await page.waitForSelector("#refusals tbody tr:has-text('token_revoked'):has-text('alice')");
      assert.ok(await page.locator("#connections tbody tr", { hasText: "ci-runner" }).count() > 0);
      await page.waitForSelector("#audit tbody tr:has-text('token.revoke')");
      // Times carry their date and UTC offset.
      const when = await page.locator("#refusals tbody tr td").first().textContent();
      assert.match(when ?? "", /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC[+-]\d\d:\d\d$/);

      // A token issued offline is found by its id in its connection's row and revoked there;
      // the arming survives the table's rebuild every second.
      const ciRow = page.locator("#connections tbody tr", { hasText: ciRunnerToken.id });
      await ciRow.waitFor();
      await ciRow.locator("button", { hasText: "Revoke token" }).click();
      await new Promise((r) => setTimeout(r, 1_500));
      await ciRow.locator("button.armed", { hasText: "Confirm revoke" }).click();
      await ciRunner.waitFor(/Lost relay .*token_revoked/, 5_000);
      const favicon = await fetch(`${url}/favicon.ico`);
      await favicon.body?.cancel();
      assert.equal(favicon.status, 204);
      assert.deepEqual(pageErrors, []);
    } finally {
      await context.close();
      await backend.shutdown();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});
