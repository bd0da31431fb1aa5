/**
 * The README's first command: `ztna demo` brings up relay, connector, client and backend on loopback,
 * prints a curl line that answers through the tunnel, and stops cleanly on Ctrl-C.
 * @module
 */
import assert from "node:assert/strict";
import { ZtnaProcess } from "../_helpers/ztna_process.ts";

Deno.test("ztna demo: the printed curl line answers through the tunnel; SIGINT stops it", async () => {
  await using demo = new ZtnaProcess(["demo"], { name: "demo" });
  const [, url] = await demo.waitFor(/Try it:\s+curl (http:\/\/127\.0\.0\.1:\d+\/)/, 40_000);
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  assert.match(
    await res.text(),
    /^Hello from the private backend, reached through ztna \(GET \/\)/,
  );
  await demo.waitFor(/Dashboard: http:\/\/127\.0\.0\.1:\d+\/ {2}\(admin token for this demo only/);
  demo.kill("SIGINT");
  const timer = setTimeout(() => demo.kill("SIGKILL"), 10_000);
  const status = await demo.done;
  clearTimeout(timer);
  assert.equal(status.code, 0, demo.output);
  assert.doesNotMatch(demo.output, /\b(ERROR|error)\b.*(uncaught|Uncaught)/);
});
