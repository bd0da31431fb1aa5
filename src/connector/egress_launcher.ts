/**
 * Entry of the connector's launcher Worker: the one place that keeps the network permission the
 * process started with, so that a reload can create an egress Worker for a new set of backends
 * after the main thread gave its own network access up. It imports nothing and parses no wire
 * data: it creates egress Workers with exactly the `net` main asks for and passes messages
 * between them and main (main validates what comes back).
 * @module
 */

/** Main → launcher. */
type ToLauncher =
  | { type: "spawn"; id: number; url: string; net: string[] | true }
  | { type: "post"; id: number; message: unknown }
  | { type: "terminate"; id: number };

/**
 * The shipped egress Worker; main names it (or a test build's entry) in each spawn. Written as a
 * literal so `deno compile`'s include list is checked against it (tests/e2e/compile_guard_test.ts).
 */
const EGRESS_WORKER = new URL("./egress_worker.ts", import.meta.url);

const scope = self as unknown as Worker;
const workers = new Map<number, Worker>();

function spawn(id: number, url: string, net: string[] | true): void {
  try {
    const worker = new Worker(url === "" ? EGRESS_WORKER : url, {
      type: "module",
      deno: {
        permissions: {
          net,
          read: false,
          write: false,
          env: false,
          run: false,
          ffi: false,
          sys: false,
          import: false,
        },
      },
    });
    worker.onmessage = (e: MessageEvent) => scope.postMessage({ id, message: e.data });
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      scope.postMessage({ id, error: e.message });
    };
    workers.set(id, worker);
  } catch (e) {
    scope.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
}

scope.onmessage = (event: MessageEvent) => {
  const msg = event.data as ToLauncher;
  if (msg.type === "spawn") return spawn(msg.id, msg.url, msg.net);
  const worker = workers.get(msg.id);
  if (msg.type === "post") return worker?.postMessage(msg.message);
  if (msg.type === "terminate") {
    worker?.terminate();
    workers.delete(msg.id);
  }
};
