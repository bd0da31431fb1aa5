/**
 * Binding a local listener of the client (a forward, a proxy or the status endpoint), with an error
 * that names the address, the config key and the fix.
 * @module
 */

/** A local forward that cannot bind, worded with its address and the fix. */
export class ForwardBindError extends Error {
  override readonly name = "ForwardBindError";
}

/**
 * Binds one forward's listener.
 * @throws {ForwardBindError} naming the address, the service and what to change
 */
export function bindLocal<T>(
  forward: { listen: string; protocol: string } & ({ service: string } | { key: string }),
  bind: () => T,
): T {
  try {
    return bind();
  } catch (error) {
    const what = `${forward.protocol.toUpperCase()} ${forward.listen} (${
      "key" in forward ? forward.key : `client.forward for service ${forward.service}`
    })`;
    if (error instanceof Deno.errors.AddrInUse) {
      throw new ForwardBindError(
        `Cannot listen on ${what}: address in use; another program (or another ztna client) ` +
          `listens there: stop it, or set ${
            "key" in forward ? forward.key : "that forward's listen"
          } to a free port`,
        { cause: error },
      );
    }
    if (
      error instanceof Deno.errors.AddrNotAvailable || error instanceof Deno.errors.PermissionDenied
    ) {
      throw new ForwardBindError(
        `Cannot listen on ${what}: ${error.message.split(" (os error")[0]}; use an address of ` +
          "this host (127.0.0.1 to stay local) and a port above 1023",
        { cause: error },
      );
    }
    throw error;
  }
}
