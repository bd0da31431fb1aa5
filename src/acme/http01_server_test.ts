/**
 * The HTTP-01 listener: the pure answer table, and a real listener that answers a pending token,
 * nothing else, and reports a port it cannot bind.
 * @module
 */
import assert from "node:assert/strict";
import { AcmeError } from "./acme_error.ts";
import { challengeAnswer, Http01Server } from "./http01_server.ts";

const PENDING = new Map([["tok_en-1", "tok_en-1.thumbprint"]]);

Deno.test("challengeAnswer() serves the key authorization of a pending token only", () => {
  assert.deepEqual(challengeAnswer("GET", "/.well-known/acme-challenge/tok_en-1", PENDING), {
    status: 200,
    body: "tok_en-1.thumbprint",
  });
  assert.equal(
    challengeAnswer("HEAD", "/.well-known/acme-challenge/tok_en-1", PENDING).status,
    200,
  );
  for (
    const path of [
      "/",
      "/.well-known/acme-challenge/",
      "/.well-known/acme-challenge/other",
      "/.well-known/acme-challenge/tok_en-1/x",
      "/.well-known/acme-challenge/../tok_en-1",
      "/x/.well-known/acme-challenge/tok_en-1",
    ]
  ) {
    assert.equal(challengeAnswer("GET", path, PENDING).status, 404, path);
  }
  assert.equal(
    challengeAnswer("POST", "/.well-known/acme-challenge/tok_en-1", PENDING).status,
    405,
  );
});

Deno.test("Http01Server answers the CA's request and 404 to anything else", async () => {
  await using server = Http01Server.start("127.0.0.1:0");
  server.pending.set("abc", "abc.xyz");
  const base = `http://127.0.0.1:${server.addr.port}/.well-known/acme-challenge`;
  const ok = await fetch(`${base}/abc`);
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), "abc.xyz");
  const missing = await fetch(`${base}/abd`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("Http01Server.start() fails with challenge_listener_failed on a busy port", () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  assert.throws(
    () => Http01Server.start(`127.0.0.1:${busy.addr.port}`),
    (e) =>
      e instanceof AcmeError && e.code === "challenge_listener_failed" &&
      /address in use/.test(e.message),
  );
});

Deno.test("Http01Server answers another relay's challenge from the shared store", async () => {
  const asked: string[] = [];
  await using server = Http01Server.start("127.0.0.1:0", (token) => {
    asked.push(token);
    return Promise.resolve(token === "theirs" ? "theirs.thumbprint" : undefined);
  });
  const base = `http://127.0.0.1:${server.addr.port}/.well-known/acme-challenge`;
  const theirs = await fetch(`${base}/theirs`);
  assert.equal(await theirs.text(), "theirs.thumbprint");
  for (const path of ["nobody", "bad%2Ftoken"]) {
    const res = await fetch(`${base}/${path}`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
  }
  const outside = await fetch(`http://127.0.0.1:${server.addr.port}/other`);
  assert.equal(outside.status, 404);
  await outside.body?.cancel();
  assert.deepEqual(asked, ["theirs", "nobody"]); // malformed paths never reach the store
});
