/**
 * TEST BUILD ONLY: tries one TCP connection and names what happened, for the role sandbox tests.
 * @module
 */

/** "NotCapable" when Deno's permissions refused, "reached" when it connected, else the error. */
export async function probe(target: string): Promise<string> {
  const at = target.lastIndexOf(":");
  try {
    const conn = await Deno.connect({
      hostname: target.slice(0, at),
      port: Number(target.slice(at + 1)),
    });
    conn.close();
    return "reached";
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return "NotCapable";
    return error instanceof Error ? error.name : String(error);
  }
}

/** Prints the probe's outcome on stderr, where the test reads it. */
export async function report(where: string, target: string): Promise<void> {
  console.error(`probe ${where} ${target}: ${await probe(target)}`);
}
