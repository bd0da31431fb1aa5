/**
 * Which service a proxy request names, and whether this client may use it: `id` or
 * `id.<service_suffix>`, checked against the grants in the relay's WELCOME. Pure, in the shape of
 * `src/auth/policy.ts`: the answer and its reason, which goes to the local log only.
 * @module
 */
import { SERVICE_ID_PATTERN } from "../protocol/service_id.ts";

/** Why a name does not lead to a service. */
export type NameRefusal = "unknown_service" | "not_granted";

/** Result of {@link resolveServiceName}. */
export type NameDecision =
  | { ok: true; service: string }
  | { ok: false; code: NameRefusal; why: string };

/**
 * Resolves `host` (already lower-cased) to a service id. `granted` is WELCOME's `services` (`"*"`
 * grants every service).
 */
export function resolveServiceName(
  host: string,
  suffix: string,
  granted: readonly string[],
): NameDecision {
  let name = host.endsWith(".") ? host.slice(0, -1) : host;
  const dotted = `.${suffix}`;
  if (suffix && name.endsWith(dotted)) name = name.slice(0, -dotted.length);
  // Without the relay's list of all services the client can tell only a name that cannot be an id
  // (an address, upper case, too long) from one its token does not grant.
  if (!SERVICE_ID_PATTERN.test(name)) {
    return {
      ok: false,
      code: "unknown_service",
      why: `"${host}" is not a service id nor <id>.${suffix}`,
    };
  }
  if (!granted.includes("*") && !granted.includes(name)) {
    return { ok: false, code: "not_granted", why: `this client's token does not grant "${name}"` };
  }
  return { ok: true, service: name };
}
