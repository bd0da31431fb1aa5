/**
 * Where a process's CPU time went, from a V8 `.cpuprofile` (written by `deno task bench --
 * --cpu-prof`): the functions with the most self time and the most inclusive time, and the time per
 * source (our `src/`, Deno's built-in `ext:` modules, npm packages, the garbage collector).
 *
 * Usage: `deno run --allow-read bench/profile_summary.ts FILE.cpuprofile [--top N]`
 * @module
 */
import { parseArgs } from "node:util";
import { z } from "zod";

const CallFrame = z.object({
  functionName: z.string(),
  url: z.string(),
  lineNumber: z.number(),
});
const ProfileNode = z.object({
  id: z.number(),
  callFrame: CallFrame,
  children: z.array(z.number()).optional(),
});
/** The parts of a V8 CPU profile this summary reads. */
export const CpuProfile = z.object({
  nodes: z.array(ProfileNode),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
export type CpuProfile = z.infer<typeof CpuProfile>;

/** One line of a summary. */
export interface Entry {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time. */
  share: number;
}

/** What {@link summarizeProfile} finds. */
export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  self: Entry[];
  inclusive: Entry[];
  sources: Entry[];
}

/** The label of a frame: function and place, shortened to the repository or package path. */
function label(f: z.infer<typeof CallFrame>): string {
  const url = f.url
    .replace(/^file:\/\/.*?\/(src|bench|tests)\//, "$1/")
    .replace(/^file:\/\/.*\/node_modules\/\.deno\//, "npm:")
    .replace(/^file:\/\/.*\/main\.ts$/, "main.ts");
  const where = url ? ` ${url}:${f.lineNumber + 1}` : "";
  return `${f.functionName || "(anonymous)"}${where}`;
}

/** Which body of code a frame belongs to. */
function source(f: z.infer<typeof CallFrame>): string {
  if (!f.url) return f.functionName.startsWith("(") ? f.functionName : "(native)";
  if (f.url.startsWith("ext:")) return f.url.split("/")[0];
  const m = /\/(src|bench|tests)\/([^/]+)/.exec(f.url);
  if (m) return `${m[1]}/${m[2]}`;
  if (f.url.includes("/npm/") || f.url.includes("node_modules")) {
    const pkg = /(?:npm\/registry\.npmjs\.org|node_modules(?:\/\.deno)?)\/(@?[^/@]+(?:\/[^/@]+)?)/
      .exec(f.url)?.[1];
    return `npm:${pkg ?? "?"}`;
  }
  return "other";
}

function top(map: Map<string, number>, busyMs: number, n: number): Entry[] {
  return [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, ms]) => ({
    name,
    ms,
    share: busyMs > 0 ? ms / busyMs : 0,
  }));
}

/** Self, inclusive and per-source time of `profile`, top `n` of each. */
export function summarizeProfile(profile: CpuProfile, n = 20): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const sources = new Map<string, number>();
  let busyMs = 0;
  let idleMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1_000;
    const node = byId.get(id);
    if (!node) return;
    if (node.callFrame.functionName === "(idle)") {
      idleMs += ms;
      return;
    }
    busyMs += ms;
    const name = label(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + ms);
    const src = source(node.callFrame);
    sources.set(src, (sources.get(src) ?? 0) + ms);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame || frame.functionName === "(root)") continue;
      const l = label(frame);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + ms);
    }
  });
  return {
    busyMs,
    idleMs,
    self: top(self, busyMs, n),
    inclusive: top(inclusive, busyMs, n),
    sources: top(sources, busyMs, n),
  };
}

function print(title: string, entries: Entry[]): void {
  console.log(`\n${title}`);
  for (const e of entries) {
    console.log(
      `${e.ms.toFixed(0).padStart(8)} ms ${(e.share * 100).toFixed(1).padStart(5)} %  ${e.name}`,
    );
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { top: { type: "string", default: "20" } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) {
    throw new RangeError("Cannot summarize as it needs exactly one .cpuprofile file");
  }
  const profile = CpuProfile.parse(JSON.parse(await Deno.readTextFile(positionals[0])));
  const s = summarizeProfile(profile, Number(values.top));
  console.log(
    `${positionals[0]}: busy ${s.busyMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms`,
  );
  print("By source (self time):", s.sources);
  print("Self time:", s.self);
  print("Inclusive time:", s.inclusive);
}
