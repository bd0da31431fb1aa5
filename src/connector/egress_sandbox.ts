/**
 * The connector's egress Workers as main sees them: each one created by the launcher Worker
 * (egress_launcher.ts) with the `net` of one config, so a reload can start a Worker for new
 * backends while an older one serves its last flows.
 * @module
 */
import { FromWorker, type ToWorker } from "./worker_messages.ts";
import type { WorkerStats } from "./connector_stats.ts";

/** One egress Worker: send to it, learn when it is ready, when it ends. */
export interface EgressWorker {
  readonly id: number;
  send(message: ToWorker): void;
  /** Settles once every relay answered every registration, or never. */
  readonly ready: Promise<void>;
  /** Its counters, or undefined when it does not answer within `timeoutMs`. */
  stats(timeoutMs: number): Promise<WorkerStats | undefined>;
  /** The counters it sent last (asked for, or just before it stopped). */
  readonly lastStats: WorkerStats | undefined;
  /** Settles with the Worker's last word: stopped or failed. */
  readonly ended: Promise<Extract<FromWorker, { type: "stopped" | "failed" }>>;
  terminate(): void;
}

interface Pending {
  onReady: () => void;
  onStats: (stats: WorkerStats) => void;
  onEnd: (end: Extract<FromWorker, { type: "stopped" | "failed" }>) => void;
}

/** Creates egress Workers through one launcher Worker, made before main drops its network. */
export class EgressLauncher {
  readonly #launcher: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 0;

  constructor() {
    this.#launcher = new Worker(new URL("./egress_launcher.ts", import.meta.url), {
      type: "module",
      // `net` and `read` as the process has them: the launcher outlives main's network and
      // reads the egress Worker's module; nothing else.
      deno: {
        permissions: {
          net: "inherit",
          read: "inherit",
          write: false,
          env: false,
          run: false,
          ffi: false,
          sys: false,
          import: false,
        },
      },
    });
    this.#launcher.onmessage = (e: MessageEvent) => this.#receive(e.data);
    this.#launcher.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      for (const [id, p] of this.#pending) {
        this.#pending.delete(id);
        p.onEnd({ type: "failed", message: `launcher failed: ${e.message}` });
      }
    };
  }

  #receive(data: unknown): void {
    const { id, message, error } = (data ?? {}) as {
      id?: number;
      message?: unknown;
      error?: string;
    };
    const pending = id === undefined ? undefined : this.#pending.get(id);
    if (!pending || id === undefined) return;
    if (error !== undefined) {
      this.#pending.delete(id);
      return pending.onEnd({ type: "failed", message: error });
    }
    const parsed = FromWorker.safeParse(message);
    const msg: FromWorker = parsed.success
      ? parsed.data
      : { type: "failed", message: "malformed message from worker" };
    if (msg.type === "ready") return pending.onReady();
    if (msg.type === "stats") return pending.onStats(msg.stats);
    this.#pending.delete(id);
    pending.onEnd(msg);
  }

  /** Creates an egress Worker from `url` with exactly `net`. */
  spawn(url: URL, net: string[] | true): EgressWorker {
    const id = ++this.#next;
    let onReady = () => {};
    let onEnd: Pending["onEnd"] = () => {};
    const ready = new Promise<void>((resolve) => onReady = resolve);
    const ended = new Promise<Parameters<Pending["onEnd"]>[0]>((resolve) => onEnd = resolve);
    let lastStats: WorkerStats | undefined;
    const waiting = new Set<(stats: WorkerStats) => void>();
    const onStats = (stats: WorkerStats) => {
      lastStats = stats;
      for (const resolve of waiting) resolve(stats);
      waiting.clear();
    };
    this.#pending.set(id, { onReady, onEnd, onStats });
    this.#launcher.postMessage({ type: "spawn", id, url: url.href, net });
    const send = (message: ToWorker) => this.#launcher.postMessage({ type: "post", id, message });
    return {
      id,
      ready,
      ended,
      get lastStats() {
        return lastStats;
      },
      stats: (timeoutMs) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => {
            waiting.delete(done);
            resolve(undefined);
          }, timeoutMs);
          const done = (stats: WorkerStats) => {
            clearTimeout(timer);
            resolve(stats);
          };
          waiting.add(done);
          send({ type: "stats" });
        }),
      send,
      terminate: () => {
        this.#launcher.postMessage({ type: "terminate", id });
        const p = this.#pending.get(id);
        this.#pending.delete(id);
        p?.onEnd({ type: "stopped" });
      },
    };
  }

  /** Ends the launcher and every Worker it made. */
  close(): void {
    this.#launcher.terminate();
  }
}
