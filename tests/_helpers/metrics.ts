/**
 * Reading the relay's /metrics in tests: sums through the project's own strict exposition parser,
 * and Prometheus's `promtool check metrics` when it is installed.
 * @module
 */
import { parsePrometheus } from "../../src/admin/mod.ts";

/** Sum of every sample of `name` (all label values). @throws when the exposition is malformed */
export function metricSum(text: string, name: string): number {
  const parsed = parsePrometheus(text);
  if (!parsed.ok) throw new Error(`malformed /metrics at line ${parsed.line}: ${parsed.problem}`);
  return parsed.samples.filter((s) => s.name === name).reduce((n, s) => n + s.value, 0);
}

/** promtool's verdict on `text`, or undefined when promtool is not installed. */
export async function promtool(text: string): Promise<{ ok: boolean; output: string } | undefined> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { ok: out.success, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}
