/**
 * A logger that, while `quiet()` holds, writes its info, warning and error lines at debug level:
 * for the connector's TCP lane, whose failures (a relay without a TCP listener, TCP blocked) are
 * said once and then retried without filling the log, since its QUIC link carries every flow.
 * @module
 */
import type { Logger } from "@logtape/logtape";

const LOUD = new Set<PropertyKey>(["info", "warn", "warning", "error"]);

/** `log`, with its louder levels turned to debug while `quiet()` is true. */
export function quietLogger(log: Logger, quiet: () => boolean): Logger {
  return new Proxy(log, {
    get(target, prop, receiver) {
      if (prop === "with") {
        return (props: Record<string, unknown>) => quietLogger(target.with(props), quiet);
      }
      if (LOUD.has(prop) && quiet()) return target.debug.bind(target);
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
