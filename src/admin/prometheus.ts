/**
 * The Prometheus text exposition format (version 0.0.4): metric families in, `/metrics` text out.
 * Checked against Prometheus's own parser (`promtool check metrics`) in prometheus_test.ts.
 * Pure: no I/O.
 * @module
 */

/** Content type of the text format, as Prometheus scrapers expect it. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** One sample of a metric family. */
export interface MetricSample {
  labels: Readonly<Record<string, string>>;
  value: number;
}

/** A Prometheus metric family: one name, one HELP and TYPE line, its samples. */
export interface MetricFamily {
  name: string;
  help: string;
  type: "counter" | "gauge";
  samples: readonly MetricSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/**
 * Renders families in the text exposition format, in the given order, one block per family.
 * @throws {RangeError} on a metric or label name the format does not allow, or a name used twice
 */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  let out = "";
  for (const family of families) {
    if (!METRIC_NAME.test(family.name) || seen.has(family.name)) {
      throw new RangeError(
        `Cannot render metrics as 'name' must be a new Prometheus metric name: current value is "${family.name}"`,
      );
    }
    seen.add(family.name);
    out += `# HELP ${family.name} ${escapeHelp(family.help)}\n`;
    out += `# TYPE ${family.name} ${family.type}\n`;
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels).map(([name, value]) => {
        if (!LABEL_NAME.test(name) || name.startsWith("__")) {
          throw new RangeError(
            `Cannot render metrics as 'label' must be a Prometheus label name: current value is "${name}"`,
          );
        }
        return `${name}="${escapeLabelValue(value)}"`;
      });
      const set = labels.length === 0 ? "" : `{${labels.join(",")}}`;
      out += `${family.name}${set} ${formatValue(sample.value)}\n`;
    }
  }
  return out;
}

/** One sample read back from exposition text. */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the text format, for tests and `ztna admin`: HELP/TYPE lines and samples
 * (no timestamps). Returns the samples, or the first problem with its line number.
 */
export function parsePrometheus(
  text: string,
): { ok: true; samples: ParsedSample[] } | { ok: false; line: number; problem: string } {
  const samples: ParsedSample[] = [];
  const sample =
    /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*)\})? (\S+)$/;
  const lines = text.split("\n");
  if (lines.pop() !== "") return { ok: false, line: lines.length + 1, problem: "no final newline" };
  for (const [i, line] of lines.entries()) {
    if (line.startsWith("#")) {
      if (!/^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$/.test(line)) {
        return { ok: false, line: i + 1, problem: "malformed comment line" };
      }
      continue;
    }
    const m = line.match(sample);
    if (!m) return { ok: false, line: i + 1, problem: "malformed sample line" };
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    if (Number.isNaN(value) && m[3] !== "NaN") {
      return { ok: false, line: i + 1, problem: "value is not a number" };
    }
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    samples.push({ name: m[1], labels, value });
  }
  return { ok: true, samples };
}

/** The value of the sample named `name` whose labels include `labels`, or undefined. */
export function sampleValue(
  samples: readonly ParsedSample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  return samples.find((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  )?.value;
}
