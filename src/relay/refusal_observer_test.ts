/**
 * Tests of RefusalObserver: one call counts the refusal under its label (and its rate limit), keeps
 * it for the admin view unless told not to, and logs it — at most once per throttle key and 10 s.
 * @module
 */
import assert from "node:assert/strict";
import { configure, getLogger, type LogRecord, reset } from "@logtape/logtape";
import { RefusalLog } from "./refusal_log.ts";
import { RefusalObserver } from "./refusal_observer.ts";
import { RelayMetrics } from "./relay_metrics.ts";

async function setup() {
  const lines: LogRecord[] = [];
  await configure({
    sinks: { mem: (r) => lines.push(r) },
    loggers: [{ category: ["ztna-test"], sinks: ["mem"], lowestLevel: "debug" }],
    reset: true,
  });
  const metrics = new RelayMetrics();
  const refusals = new RefusalLog();
  const clock = { now: 1_000 };
  const observer = new RefusalObserver({
    metrics,
    refusals,
    log: getLogger(["ztna-test"]),
    clock: () => clock.now,
  });
  return { lines, metrics, refusals, clock, observer };
}

Deno.test("RefusalObserver counts, records and logs a refusal in one call", async () => {
  const { lines, metrics, refusals, observer } = await setup();
  try {
    observer.refuse({
      code: "limit_exceeded",
      counter: metrics.registrations,
      rateLimit: "registrations_per_identity",
      identity: "office",
      service: "web",
      connId: "c1",
      message: "Refused registration of {service}: {code}",
      properties: { service: "web", code: "limit_exceeded" },
    });
    assert.equal(metrics.registrations.get("limit_exceeded"), 1);
    assert.equal(metrics.rateLimited.get("registrations_per_identity"), 1);
    assert.deepEqual(refusals.recent(), [{
      at: 1_000,
      code: "limit_exceeded",
      identity: "office",
      service: "web",
      connId: "c1",
    }]);
    assert.equal(lines.length, 1);
    assert.equal(lines[0].level, "warning");
    assert.deepEqual(lines[0].properties, { service: "web", code: "limit_exceeded" });
  } finally {
    await reset();
  }
});

Deno.test("RefusalObserver: a label apart from the code, no record, another level", async () => {
  const { lines, metrics, refusals, observer } = await setup();
  try {
    observer.refuse({
      code: "internal",
      label: "unknown",
      counter: metrics.flowsRefused,
      record: false,
      level: "debug",
      message: "x",
    });
    assert.equal(metrics.flowsRefused.get("unknown"), 1);
    assert.equal(metrics.flowsRefused.get("internal"), 0);
    assert.equal(refusals.total, 0);
    assert.equal(lines[0].level, "debug");
  } finally {
    await reset();
  }
});

Deno.test("RefusalObserver throttles floods to one line per key and 10 s, with the count", async () => {
  const { lines, metrics, refusals, clock, observer } = await setup();
  try {
    const flood = () =>
      observer.refuse({
        code: "relay_overloaded",
        counter: metrics.authFailures,
        message: "Refused {count} connection(s)",
        throttle: "overload",
      });
    for (let i = 0; i < 5; i++) flood();
    clock.now += 10_000;
    flood();
    assert.equal(metrics.authFailures.get("relay_overloaded"), 6, "every refusal is counted");
    assert.equal(refusals.total, 6, "and recorded");
    assert.deepEqual(lines.map((l) => l.properties.count), [1, 5]);
  } finally {
    await reset();
  }
});
