/**
 * Reading our text logs as production would show them: the lines at info and above of a run made at
 * debug, and the IP addresses in them that no config names (finding I1: peer addresses only at debug).
 * @module
 */

/** Lines of a text-format log at info, warning, error or fatal: what `level = "info"` prints. */
export function linesAtInfo(output: string): string[] {
  return output.split("\n").filter((l) => /^\S+ (INFO|WARN|WARNING|ERROR|FATAL)\s/.test(l));
}

/**
 * IPv4 addresses (with their port when there is one) left in `lines` once every `configured`
 * `host:port` is removed: each is a peer address that leaked to a production log.
 */
export function unconfiguredAddresses(lines: string[], configured: Iterable<string>): string[] {
  let text = lines.join("\n");
  for (const c of configured) text = text.replaceAll(c, "<configured>");
  return [...text.matchAll(/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g)].map((m) => m[0]);
}
