/**
 * The config schema's building blocks shared by every section: host:port, file paths, bounded
 * numbers, HTTPS URLs, the loopback test, and the `[log]` section. Pure.
 * @module
 */
import { z } from "zod";
import { parseHostPort } from "../protocol/address.ts";

/** `host:port` or `[v6]:port`, validated and kept as text; resolve with parseHostPort(). */
export const HostPort = z.string().superRefine((value, ctx) => {
  const parsed = parseHostPort(value);
  if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.reason });
});

/** A file path as written in config (resolved against the config's folder by paths.ts). */
export const FilePath = z.string().min(1, "expected a file path");
/** Milliseconds, a positive integer up to `max`. */
export const Millis = (max: number) => z.number().int().min(1).max(max);
/** A count, a positive integer up to `max`. */
export const Count = (max: number) => z.number().int().min(1).max(max);

/** Log settings shared by every role. */
export const LogSection = z.strictObject({
  level: z.enum(["debug", "info", "warning", "error"]).default("info"),
  format: z.enum(["text", "json"]).default("text"),
});

/** An https:// URL (an identity provider is always reached over verified TLS). */
export const HttpsUrl = z.string().refine(
  (value) => URL.parse(value)?.protocol === "https:",
  "expected an https:// URL",
);

/** True for host names only this machine can reach: 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname === "::1" ||
    hostname.toLowerCase() === "localhost";
}
