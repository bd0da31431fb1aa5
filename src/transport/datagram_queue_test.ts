import assert from "node:assert/strict";
import fc from "fast-check";
import { DatagramQueue, SENDS_IN_FLIGHT } from "./datagram_queue.ts";

/** A send whose settling the test controls. */
function manualSend() {
  const started: number[] = [];
  const settle: ((ok: boolean) => void)[] = [];
  const send = (item: number) => {
    started.push(item);
    return new Promise<void>((resolve, reject) =>
      settle.push((ok) => ok ? resolve() : reject(new Error("send failed")))
    );
  };
  return { started, settle, send };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("DatagramQueue starts at most inFlight sends and drains the rest in order", async () => {
  const m = manualSend();
  const q = new DatagramQueue({ depth: 10, send: m.send, inFlight: 2 });
  for (let i = 0; i < 5; i++) assert.equal(q.offer(i), true);
  assert.deepEqual(m.started, [0, 1]);
  assert.equal(q.inFlight, 2);
  assert.equal(q.pending, 5);
  m.settle[0](true);
  await tick();
  assert.deepEqual(m.started, [0, 1, 2]);
  m.settle[1](true);
  m.settle[2](true);
  await tick();
  assert.deepEqual(m.started, [0, 1, 2, 3, 4]);
  m.settle[3](true);
  m.settle[4](true);
  await tick();
  assert.equal(q.pending, 0);
  assert.equal(q.inFlight, 0);
});

Deno.test("DatagramQueue drops the newest when queued + in flight reach depth", async () => {
  const m = manualSend();
  const q = new DatagramQueue({ depth: 3, send: m.send, inFlight: 1 });
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => q.offer(i)), [true, true, true, false, false]);
  m.settle[0](true);
  await tick();
  assert.equal(q.offer(5), true);
  for (let i = 1; i < 4; i++) {
    m.settle[i](true);
    await tick();
  }
  assert.deepEqual(m.started, [0, 1, 2, 5]);
});

Deno.test("DatagramQueue reports failed sends and goes on", async () => {
  const m = manualSend();
  const failed: number[] = [];
  const q = new DatagramQueue({
    depth: 4,
    send: m.send,
    inFlight: 1,
    failed: (item) => failed.push(item),
  });
  q.offer(1);
  q.offer(2);
  m.settle[0](false);
  await tick();
  m.settle[1](true);
  await tick();
  assert.deepEqual(failed, [1]);
  assert.deepEqual(m.started, [1, 2]);
  assert.equal(q.pending, 0);
});

Deno.test("DatagramQueue treats a send that throws like one that rejects", async () => {
  const failed: number[] = [];
  const q = new DatagramQueue<number>({
    depth: 4,
    send: () => {
      throw new Error("closed");
    },
    failed: (item) => failed.push(item),
  });
  assert.equal(q.offer(7), true);
  await tick();
  assert.deepEqual(failed, [7]);
  assert.equal(q.pending, 0);
});

Deno.test("DatagramQueue.close() forgets waiting items and refuses new ones", async () => {
  const m = manualSend();
  const q = new DatagramQueue({ depth: 10, send: m.send, inFlight: 1 });
  q.offer(1);
  q.offer(2);
  q.close();
  assert.equal(q.offer(3), false);
  m.settle[0](true);
  await tick();
  assert.deepEqual(m.started, [1]);
  assert.equal(q.pending, 0);
});

Deno.test("DatagramQueue defaults to SENDS_IN_FLIGHT sends in flight", () => {
  const m = manualSend();
  const q = new DatagramQueue({ depth: 1_000, send: m.send });
  for (let i = 0; i < 100; i++) q.offer(i);
  assert.equal(q.inFlight, SENDS_IN_FLIGHT);
  assert.equal(q.pending, 100);
});

Deno.test("DatagramQueue keeps FIFO order, its bound and its window for any schedule", async () => {
  // Each step either offers the next item or settles the oldest send in flight.
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.boolean(), { maxLength: 300 }),
      async (depth, window, steps) => {
        const m = manualSend();
        const q = new DatagramQueue({ depth, send: m.send, inFlight: window });
        const accepted: number[] = [];
        let next = 0;
        let settled = 0;
        for (const offer of steps) {
          if (offer) {
            const item = next++;
            if (q.offer(item)) accepted.push(item);
          } else if (settled < m.settle.length) {
            m.settle[settled++](true);
            await Promise.resolve();
            await Promise.resolve();
          }
          assert.ok(q.pending <= depth);
          assert.ok(q.inFlight <= window);
          assert.equal(q.inFlight, m.started.length - settled);
        }
        while (settled < m.settle.length) {
          m.settle[settled++](true);
          await Promise.resolve();
          await Promise.resolve();
        }
        assert.deepEqual(m.started, accepted);
        assert.equal(q.pending, 0);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("DatagramQueue.full says what offer() would do", () => {
  const m = manualSend();
  const q = new DatagramQueue({ depth: 2, send: m.send, inFlight: 1 });
  assert.equal(q.full, false);
  q.offer(1);
  assert.equal(q.full, false);
  q.offer(2);
  assert.equal(q.full, true);
  assert.equal(q.offer(3), false);
  const closed = new DatagramQueue({ depth: 2, send: m.send });
  closed.close();
  assert.equal(closed.full, true);
});
