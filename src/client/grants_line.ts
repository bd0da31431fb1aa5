/**
 * The line a client logs once per session: which services its token grants and where each is
 * reachable locally (forwards and proxy endpoints).
 * @module
 */
import type { ClientForwardConfig } from "../config/schema.ts";
import type { ProxyPlace } from "./local_listeners.ts";

/** Text of the grants line for `granted` (`*` = every service) and the local places. */
export function grantsLine(
  granted: readonly string[],
  forwards: readonly Pick<ClientForwardConfig, "listen" | "service" | "protocol">[],
  proxies: readonly ProxyPlace[],
  suffix: string,
): string {
  if (granted.includes("*")) {
    const byName = proxies.length > 0
      ? ` (by name at ${proxies.map((p) => p.listen).join(", ")})`
      : "";
    return `every service${byName}`;
  }
  const where = (service: string) => {
    const places = forwards.filter((f) => f.service === service)
      .map((f) => `${f.listen}${f.protocol === "udp" ? "/udp" : ""}`);
    for (const p of proxies) {
      places.push(
        `${p.kind === "socks" ? "socks5" : "http"}://${p.listen} as ${service}.${suffix}`,
      );
    }
    return places.length > 0 ? places.join(", ") : "not forwarded";
  };
  return granted.map((s) => `${s} → ${where(s)}`).join("; ");
}
