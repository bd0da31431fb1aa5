/**
 * The adapter acme-client talks through, driven through acme-client's own axios instance against a
 * local HTTPS server of a dev CA: trusted only with that CA in `caCerts`, answers of every status
 * passed on, bounded bodies and time, and typed errors that survive acme-client's interceptors.
 * @module
 */
import "./_npm_env.ts";
import * as acme from "acme-client";
import assert from "node:assert/strict";
import { generateDevPki } from "../pki/mod.ts";
import { AcmeError } from "./acme_error.ts";
import { fetchAdapter, type FetchAdapterOptions, MAX_RESPONSE_BYTES } from "./fetch_adapter.ts";

async function httpsServer(handler: (req: Request) => Response | Promise<Response>) {
  const dir = await Deno.makeTempDir();
  const pki = await generateDevPki({ outDir: dir });
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(pki.certPath),
    key: await Deno.readTextFile(pki.keyPath),
    onListen: () => {},
  }, handler);
  return {
    url: `https://localhost:${server.addr.port}`,
    ca: await Deno.readTextFile(pki.caCertPath),
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** One request as acme-client makes it, through its axios instance. */
async function request(url: string, options: FetchAdapterOptions & { method?: string }) {
  using http = fetchAdapter(options);
  return await acme.axios.request({
    url,
    method: options.method ?? "get",
    adapter: http.adapter,
    validateStatus: null,
  });
}

function code(error: unknown): string | undefined {
  return error instanceof AcmeError ? error.code : undefined;
}

Deno.test("fetchAdapter() trusts the CA given in caCerts and passes the answer on", async () => {
  await using server = await httpsServer(() =>
    Response.json({ newNonce: "x" }, { headers: { "replay-nonce": "n1" } })
  );
  const res = await request(`${server.url}/dir`, { caCerts: [server.ca] });
  assert.equal(res.status, 200);
  assert.deepEqual(res.data, { newNonce: "x" });
  assert.equal(res.headers["replay-nonce"], "n1");
});

Deno.test("fetchAdapter() refuses a server its roots do not cover", async () => {
  await using server = await httpsServer(() => new Response("{}"));
  await assert.rejects(
    request(`${server.url}/dir`, {}),
    (e) => code(e) === "ca_unreachable" && /UnknownIssuer/.test(String(e)),
  );
});

Deno.test("fetchAdapter() passes error statuses on for acme-client to read", async () => {
  await using server = await httpsServer(() =>
    Response.json({ type: "urn:ietf:params:acme:error:rateLimited" }, { status: 429 })
  );
  const res = await request(`${server.url}/order`, { caCerts: [server.ca], method: "post" });
  assert.equal(res.status, 429);
});

Deno.test("fetchAdapter() stops at its time limit, its size limit and on abort", async (t) => {
  await using server = await httpsServer(async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/slow") await new Promise((r) => setTimeout(r, 2_000));
    if (path === "/big") return new Response(new Uint8Array(MAX_RESPONSE_BYTES + 1));
    return new Response("ok");
  });
  const caCerts = [server.ca];
  await t.step("time", async () => {
    await assert.rejects(
      request(`${server.url}/slow`, { caCerts, timeoutMs: 100 }),
      (e) => code(e) === "ca_unreachable" && /no answer within 100 ms/.test(String(e)),
    );
  });
  await t.step("size", async () => {
    await assert.rejects(request(`${server.url}/big`, { caCerts }), (e) => code(e) === "ca_error");
  });
  await t.step("abort", async () => {
    const stop = new AbortController();
    const pending = request(`${server.url}/slow`, { caCerts, signal: stop.signal });
    stop.abort();
    await assert.rejects(pending, (e) => code(e) === "aborted");
  });
});
