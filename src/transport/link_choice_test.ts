import assert from "node:assert/strict";
import { chooseLink, probeDelayMs } from "./link_choice.ts";

const at = (quic: string, tcp: string, elapsedMs: number) =>
  chooseLink({
    quic: quic as never,
    tcp: tcp as never,
    elapsedMs,
    fallbackMs: 500,
  });

Deno.test("chooseLink() waits for QUIC until the fallback delay, then starts TCP", () => {
  assert.deepEqual(at("pending", "idle", 0), { kind: "wait" });
  assert.deepEqual(at("pending", "idle", 499), { kind: "wait" });
  assert.deepEqual(at("pending", "idle", 500), { kind: "start_tcp" });
  assert.deepEqual(at("pending", "pending", 900), { kind: "wait" });
});

Deno.test("chooseLink() does not start TCP while QUIC is up and awaiting WELCOME", () => {
  assert.deepEqual(at("connected", "idle", 5_000), { kind: "wait" });
  assert.deepEqual(at("failed", "idle", 5_000), { kind: "start_tcp" });
});

Deno.test("chooseLink() starts TCP at once when QUIC failed early", () => {
  assert.deepEqual(at("failed", "idle", 10), { kind: "start_tcp" });
  assert.deepEqual(at("failed", "failed", 10), { kind: "fail", why: "unreachable" });
});

Deno.test("chooseLink() keeps the first to authenticate, QUIC when both did", () => {
  assert.deepEqual(at("pending", "authenticated", 700), { kind: "use", transport: "tcp" });
  assert.deepEqual(at("authenticated", "pending", 700), { kind: "use", transport: "quic" });
  assert.deepEqual(at("authenticated", "idle", 100), { kind: "use", transport: "quic" });
  assert.deepEqual(at("failed", "authenticated", 100), { kind: "use", transport: "tcp" });
});

Deno.test("chooseLink() treats a relay's refusal as final on either transport", () => {
  assert.deepEqual(at("refused", "idle", 100), { kind: "fail", why: "refused" });
  assert.deepEqual(at("pending", "refused", 900), { kind: "fail", why: "refused" });
});

Deno.test("probeDelayMs() stays within ±25 % of the interval", () => {
  assert.equal(probeDelayMs(30_000, () => 0), 22_500);
  assert.equal(probeDelayMs(30_000, () => 1), 37_500);
  assert.equal(probeDelayMs(1_000, () => 0.5), 1_000);
});
