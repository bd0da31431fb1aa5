/**
 * The wire's names for what a tunnel carries: service ids (strict ASCII, finding L3) and the transport
 * of a flow. Config, tokens, tickets and stream headers all take their rules from here.
 * @module
 */
import { z } from "zod";

/** Service ids: strict ASCII subset, checked everywhere a service id enters the program (L3). */
export const SERVICE_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** A service id as written in config and on the wire. */
export const ServiceId = z.string().regex(
  SERVICE_ID_PATTERN,
  "expected a service id matching ^[a-z0-9][a-z0-9._-]{0,62}$",
);

/** Transport of a service, forward or flow. */
export const TransportProtocol = z.enum(["tcp", "udp"]);
export type TransportProtocol = z.output<typeof TransportProtocol>;
