/**
 * The one deadline race: a promise's value, or {@link TIMED_OUT} when `ms` pass first, or the
 * signal's reason when it aborts first. Its timer is cleared as soon as the race is decided, which
 * matters on hot paths (a flow's OPEN, a HELLO): a pending AbortSignal.timeout per flow would keep
 * thousands of timers alive for their whole span. Signals still combine with AbortSignal.any.
 * @module
 */

/** What {@link deadline} answers when the time ran out. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * Settles with `work`'s outcome, with {@link TIMED_OUT} after `ms`, or rejects with the reason of
 * `signal` when it aborts first (at once when it already has). `work` keeps running either way.
 */
export function deadline<T>(
  work: Promise<T>,
  ms: number,
  signal?: AbortSignal,
): Promise<T | typeof TIMED_OUT> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<T | typeof TIMED_OUT>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      done();
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      done();
      resolve(TIMED_OUT);
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
    work.then((v) => {
      done();
      resolve(v);
    }, (e) => {
      done();
      reject(e);
    });
  });
}
