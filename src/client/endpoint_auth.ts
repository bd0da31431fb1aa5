/**
 * Checks the credentials a local program gave a proxy endpoint against the configured ones, in
 * constant time: both sides are hashed first (SHA-256), so neither the length nor the first
 * differing byte shows in the time taken.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { EndpointCredentials } from "../config/endpoint_credentials.ts";

function digest(username: string, password: string): Uint8Array {
  // The user name's length first: "ab"+"c" and "a"+"bc" must not hash alike.
  const user = new TextEncoder().encode(username);
  return createHash("sha256").update(`${user.byteLength}:`).update(user).update(password)
    .digest();
}

/** Whether `given` equals `expected`, user and password, without an early exit. */
export function credentialsMatch(
  expected: EndpointCredentials,
  given: { username: string; password: string },
): boolean {
  return timingSafeEqual(
    digest(expected.username, expected.password),
    digest(given.username, given.password),
  );
}
