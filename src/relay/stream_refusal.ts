/**
 * Refusing a stream the relay will not serve: one before HELLO or from a connector (cancelled and
 * closed, counted), or a client's flow stream at a limit (answered REPLY limit_exceeded before its
 * OPEN is read, counted and logged through the refusal observer, throttled per connection).
 * @module
 */
import type { Logger } from "@logtape/logtape";
import { encodeHeader } from "../protocol/mod.ts";
import type { ByteStream } from "../transport/mod.ts";
import type { RefusalObserver } from "./refusal_observer.ts";
import type { RelayMetrics } from "./relay_metrics.ts";

/** Cancels and closes a stream the relay does not read, counting it by `reason`. */
export function refuseStream(s: ByteStream, reason: string, metrics: RelayMetrics): void {
  metrics.refusedStreams.inc(reason);
  s.readable.cancel(reason).catch(() => {});
  s.writable.close().catch(() => {});
}

/** Answers a client's flow stream at a limit with REPLY limit_exceeded, without reading its OPEN. */
export function refuseFlowStream(
  s: ByteStream,
  what: { reason: string; limit: string; connId: string; pendingOpens?: boolean },
  by: { observer: RefusalObserver; metrics: RelayMetrics; log: Logger },
): void {
  const { reason, limit, connId, pendingOpens = false } = what;
  by.observer.refuse({
    code: "limit_exceeded",
    counter: by.metrics.refusedStreams,
    label: reason,
    ...(pendingOpens ? { rateLimit: "pending_opens_per_connection" as const } : {}),
    record: false,
    message: "Refused {count} flow stream(s): limit_exceeded ({limit})",
    properties: { limit },
    throttle: `${connId} ${limit}`,
    logger: by.log,
  });
  s.readable.cancel(reason).catch(() => {});
  const writer = s.writable.getWriter();
  writer.write(encodeHeader({ type: "reply", code: "limit_exceeded", flowId: 0 }))
    .then(() => writer.close())
    .catch(() => {});
}
