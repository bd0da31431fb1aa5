/**
 * Tests of the signal-driven RunContext, with a fake signal source.
 * @module
 */
import assert from "node:assert/strict";
import { ProcessSignals, type SignalSource } from "./signals.ts";

class FakeSignals implements SignalSource {
  readonly handlers = new Map<Deno.Signal, Set<() => void>>();
  add(signal: Deno.Signal, handler: () => void): void {
    this.handlers.set(signal, (this.handlers.get(signal) ?? new Set()).add(handler));
  }
  remove(signal: Deno.Signal, handler: () => void): void {
    this.handlers.get(signal)?.delete(handler);
  }
  send(signal: Deno.Signal): void {
    for (const handler of this.handlers.get(signal) ?? []) handler();
  }
  get count(): number {
    return [...this.handlers.values()].reduce((n, set) => n + set.size, 0);
  }
}

Deno.test("ProcessSignals aborts on the first SIGTERM and forces exit on the second", () => {
  const source = new FakeSignals();
  const forced: Deno.Signal[] = [];
  using ctx = new ProcessSignals({ source, onForceExit: (s) => forced.push(s) });
  assert.equal(ctx.signal.aborted, false);
  source.send("SIGTERM");
  assert.equal(ctx.signal.aborted, true);
  assert.deepEqual(forced, []);
  source.send("SIGINT");
  assert.deepEqual(forced, ["SIGINT"]);
});

Deno.test("ProcessSignals runs every reload handler on SIGHUP, even after one fails", async () => {
  const source = new FakeSignals();
  using ctx = new ProcessSignals({ source, onForceExit: () => {} });
  const calls: string[] = [];
  ctx.onReload(() => {
    calls.push("a");
    throw new Error("bad cert");
  });
  ctx.onReload(async () => {
    await Promise.resolve();
    calls.push("b");
  });
  source.send("SIGHUP");
  await ctx.reload();
  assert.deepEqual(calls, ["a", "b", "a", "b"]);
  assert.equal(ctx.signal.aborted, false);
});

Deno.test("ProcessSignals removes its listeners when disposed", () => {
  const source = new FakeSignals();
  {
    using _ctx = new ProcessSignals({ source, onForceExit: () => {} });
    assert.equal(source.count, 3);
  }
  assert.equal(source.count, 0);
});
