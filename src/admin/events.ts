/**
 * `/api/v1/events`: a server-sent event stream that pushes a snapshot of the relay (connections,
 * services, refusals, totals) every interval. Authenticated like every API call, with the bearer
 * header, so the dashboard reads it with fetch() streaming rather than EventSource (which cannot
 * send headers). A reader that falls behind skips snapshots instead of queueing them: each one
 * replaces the last, so nothing grows without bound.
 * @module
 */
import type { Snapshot } from "./api_schemas.ts";
import { COMMON_HEADERS } from "./http_io.ts";

/** Options of {@link eventStream}. */
export interface EventStreamOptions {
  /** Time between snapshots in milliseconds. @default {1000} */
  intervalMs?: number;
  /** Ends the stream: the client went away or the server is shutting down. */
  signal: AbortSignal;
  /** Called once when the stream ends, for whatever reason. */
  onEnd?: () => void;
}

const encoder = new TextEncoder();

/** One SSE message carrying `data` as JSON. */
export function formatEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A `text/event-stream` response that pushes `take()` now and then every interval. */
export function eventStream(take: () => Snapshot, options: EventStreamOptions): Response {
  const { intervalMs = 1_000, signal, onEnd } = options;
  let timer: ReturnType<typeof setInterval> | undefined;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    signal.removeEventListener("abort", onAbort);
    onEnd?.();
  };
  let onAbort = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const push = () => {
        // A full queue means the reader is behind: skip, the next snapshot supersedes this one.
        if ((controller.desiredSize ?? 0) <= 0) return;
        controller.enqueue(encoder.encode(formatEvent("snapshot", take())));
      };
      onAbort = () => {
        end();
        try {
          controller.close();
        } catch { /* already closed or errored */ }
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      controller.enqueue(encoder.encode("retry: 2000\n\n"));
      push();
      timer = setInterval(push, intervalMs);
    },
    cancel() {
      end();
    },
  }, new CountQueuingStrategy({ highWaterMark: 4 }));
  return new Response(body, {
    headers: {
      ...COMMON_HEADERS,
      "content-type": "text/event-stream; charset=utf-8",
      "x-accel-buffering": "no",
    },
  });
}
