import assert from "node:assert/strict";
import { AuthFailures, sourceKey } from "./auth_failures.ts";

function limiter(options: { maxFailures?: number; windowMs?: number; maxSources?: number } = {}) {
  const clock = { ms: 1_000_000 };
  const limits = new AuthFailures({
    maxFailures: options.maxFailures ?? 3,
    windowMs: options.windowMs ?? 1_000,
    ...(options.maxSources ? { maxSources: options.maxSources } : {}),
    now: () => clock.ms,
  });
  return { limits, clock };
}

Deno.test("AuthFailures blocks a source at its Nth failure and says so once", () => {
  const { limits } = limiter();
  assert.deepEqual(limits.failed("10.0.0.1"), { failures: 1, blockedNow: false });
  assert.deepEqual(limits.failed("10.0.0.1"), { failures: 2, blockedNow: false });
  assert.equal(limits.blocked("10.0.0.1"), false);
  assert.deepEqual(limits.failed("10.0.0.1"), { failures: 3, blockedNow: true });
  assert.equal(limits.blocked("10.0.0.1"), true);
  // A guess already in flight when the block began still counts, but is not logged again.
  assert.deepEqual(limits.failed("10.0.0.1"), { failures: 4, blockedNow: false });
});

Deno.test("AuthFailures keeps the block until the window since the last failure has passed", () => {
  const { limits, clock } = limiter();
  for (let i = 0; i < 3; i++) {
    limits.failed("10.0.0.1");
    clock.ms += 400;
  }
  // Last failure at +800; blocked connections do not extend it.
  clock.ms = 1_000_000 + 800 + 999;
  assert.equal(limits.blocked("10.0.0.1"), true);
  clock.ms += 1;
  assert.equal(limits.blocked("10.0.0.1"), false);
  assert.equal(limits.size, 0, "the expired entry is forgotten");
  assert.deepEqual(limits.failed("10.0.0.1"), { failures: 1, blockedNow: false });
});

Deno.test("AuthFailures counts only failures each within the window of the previous one", () => {
  const { limits, clock } = limiter();
  limits.failed("10.0.0.1");
  limits.failed("10.0.0.1");
  clock.ms += 1_000;
  assert.deepEqual(limits.failed("10.0.0.1"), { failures: 1, blockedNow: false });
});

Deno.test("AuthFailures keeps sources apart: one blocked, another untouched", () => {
  const { limits } = limiter();
  for (let i = 0; i < 3; i++) limits.failed("10.0.0.1");
  limits.failed("10.0.0.2");
  assert.equal(limits.blocked("10.0.0.1"), true);
  assert.equal(limits.blocked("10.0.0.2"), false);
  assert.equal(limits.blocked("10.0.0.3"), false);
});

Deno.test("AuthFailures limits loopback sources too", () => {
  const { limits } = limiter({ maxFailures: 1 });
  limits.failed("127.0.0.1");
  limits.failed("::1");
  assert.equal(limits.blocked("127.0.0.1"), true);
  assert.equal(limits.blocked("::1"), true);
});

Deno.test("AuthFailures bounds its table, forgetting the oldest last failure first", () => {
  const { limits, clock } = limiter({ maxSources: 3, windowMs: 60_000 });
  for (const source of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) {
    limits.failed(source);
    limits.failed(source);
    limits.failed(source);
    clock.ms += 1;
  }
  limits.failed("10.0.0.1"); // now the most recent
  for (let i = 4; i < 1_000; i++) {
    limits.failed(`10.0.${i >> 8}.${i & 255}`);
    assert.ok(limits.size <= 3);
  }
  assert.equal(limits.size, 3);
  assert.equal(limits.blocked("10.0.0.1"), false, "evicted by newer sources");
});

Deno.test("AuthFailures evicts the least recent failure, not the first source seen", () => {
  const { limits, clock } = limiter({ maxSources: 2, windowMs: 60_000 });
  for (let i = 0; i < 3; i++) limits.failed("10.0.0.1");
  clock.ms += 1;
  limits.failed("10.0.0.2");
  clock.ms += 1;
  limits.failed("10.0.0.1");
  limits.failed("10.0.0.3");
  assert.equal(limits.blocked("10.0.0.1"), true);
  assert.equal(limits.size, 2);
});

Deno.test("AuthFailures drops expired entries when recording", () => {
  const { limits, clock } = limiter();
  for (let i = 0; i < 100; i++) limits.failed(`10.0.1.${i}`);
  clock.ms += 1_000;
  limits.failed("10.0.2.1");
  assert.equal(limits.size, 1);
});

Deno.test("AuthFailures takes new limits on reload, keeping counts", () => {
  const { limits } = limiter({ maxFailures: 5 });
  limits.failed("10.0.0.1");
  limits.failed("10.0.0.1");
  assert.equal(limits.blocked("10.0.0.1"), false);
  limits.setLimits({ maxFailures: 2, windowMs: 1_000 });
  assert.equal(limits.blocked("10.0.0.1"), true);
});

Deno.test("AuthFailures rejects limits that are not positive integers", () => {
  assert.throws(() => new AuthFailures({ maxFailures: 0, windowMs: 1 }), RangeError);
  assert.throws(() => new AuthFailures({ maxFailures: 1, windowMs: 1.5 }), RangeError);
  assert.throws(() => new AuthFailures({ maxFailures: 1, windowMs: 1, maxSources: 0 }), RangeError);
  const { limits } = limiter();
  assert.throws(() => limits.setLimits({ maxFailures: -1, windowMs: 1 }), RangeError);
});

Deno.test("sourceKey gives an IPv4-mapped IPv6 address its IPv4 tally", () => {
  assert.equal(sourceKey("::ffff:10.0.0.1"), "10.0.0.1");
  assert.equal(sourceKey("::FFFF:10.0.0.1"), "10.0.0.1");
  assert.equal(sourceKey("FE80::1"), "fe80::1");
  const { limits } = limiter({ maxFailures: 2 });
  limits.failed("::ffff:10.0.0.1");
  limits.failed("10.0.0.1");
  assert.equal(limits.blocked("::ffff:10.0.0.1"), true);
});
