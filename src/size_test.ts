/**
 * Keeps the tree readable: no product file over 400 lines and no function over 80, unless it is
 * listed here with the reason. Functions are found from `deno fmt`'s layout (a declaration line and
 * the closing brace at its indentation), which the check task guarantees.
 * @module
 */
import assert from "node:assert/strict";

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 80;

/** Files allowed past the limit, with why (path relative to src/). */
const LONG_FILES: Record<string, string> = {};

/** Functions allowed past the limit, as "path:name", with why. */
const LONG_FUNCTIONS: Record<string, string> = {
  "admin/routes.ts:adminRoutes": "the API's route table, read as data",
  "client/mod.ts:runClient": "start-up order that the teardown stack reverses, read top to bottom",
};

const SRC = new URL("./", import.meta.url);

async function* productFiles(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* productFiles(url);
    else if (entry.name.endsWith(".ts") && !/_test\.ts$|^_test_/.test(entry.name)) yield url;
  }
}

const KEYWORDS = new Set(["if", "for", "while", "switch", "catch", "return", "function", "await"]);
const FUNCTION_START =
  /^(\s*)(?:export\s+)?(?:default\s+)?(?:async\s+)?function\*?\s+([\w$]+)|^(\s*)(?:export\s+)?const\s+([\w$]+)\s*=\s*(?:async\s+)?(?:\([^)]*$|\([^)]*\)\s*(?::[^=]+)?=>)|^(\s+)(?:(?:static|override|public|private|protected|readonly)\s+)*(?:async\s+)?\*?(?:get\s+|set\s+)?(#?[\w$]+)\s*(?:<[^>]*>)?\(/;

/** Every function, method and top-level arrow of `text` with its length in lines. */
export function functionLengths(text: string): { name: string; line: number; lines: number }[] {
  const lines = text.split("\n");
  const found: { name: string; line: number; lines: number }[] = [];
  for (const [i, line] of lines.entries()) {
    const m = FUNCTION_START.exec(line);
    if (!m) continue;
    const indent = m[1] ?? m[3] ?? m[5] ?? "";
    const name = m[2] ?? m[4] ?? m[6] ?? "";
    if (KEYWORDS.has(name) || (m[4] !== undefined && indent !== "")) continue;
    const body = bodyStart(lines, i, indent, m[4] !== undefined);
    if (body === undefined) continue;
    const close = new RegExp(`^${indent}[}\\]][);,]*$`);
    for (let j = body + 1; j < lines.length; j++) {
      if (close.test(lines[j])) {
        found.push({ name, line: i + 1, lines: j - i + 1 });
        break;
      }
    }
  }
  return found;
}

/**
 * The line where the body of a declaration at `start` opens, or undefined for a call or a
 * declaration without a body (a signature ends in `{` on its first line or on its `)` line).
 */
function bodyStart(
  lines: string[],
  start: number,
  indent: string,
  arrow: boolean,
): number | undefined {
  const opens = arrow ? /=>\s*\{\s*$/ : /\)\s*(?::.+)?\{\s*$/;
  if (opens.test(lines[start])) return start;
  for (let j = start + 1; j < lines.length; j++) {
    // A signature goes on at deeper indentation; the first line back at `indent` ends it.
    if (!lines[j].startsWith(indent) || /^\s/.test(lines[j].slice(indent.length))) continue;
    return lines[j].startsWith(`${indent})`) && opens.test(lines[j]) ? j : undefined;
  }
  return undefined;
}

Deno.test("no product file over 400 lines and no function over 80 without a reason", async () => {
  const over: string[] = [];
  for await (const file of productFiles(SRC)) {
    const rel = file.pathname.slice(SRC.pathname.length);
    const text = await Deno.readTextFile(file);
    const count = text.split("\n").length - 1;
    if (count > MAX_FILE_LINES && !(rel in LONG_FILES)) over.push(`${rel}: ${count} lines`);
    for (const f of functionLengths(text)) {
      if (f.lines > MAX_FUNCTION_LINES && !(`${rel}:${f.name}` in LONG_FUNCTIONS)) {
        over.push(`${rel}:${f.line} ${f.name}: ${f.lines} lines`);
      }
    }
  }
  assert.deepEqual(over, [], "split these, or list them above with the reason");
});

Deno.test("functionLengths finds functions, methods and top-level arrows by their closing brace", () => {
  const text = [
    "export async function a(",
    "  x: number,",
    "): Promise<void> {",
    "  if (x) {",
    "  }",
    "}",
    "class C {",
    "  async #m(): Promise<void> {",
    "    return;",
    "  }",
    "}",
    "const f = (y: string) => {",
    "  return y;",
    "};",
  ].join("\n");
  assert.deepEqual(functionLengths(text), [
    { name: "a", line: 1, lines: 6 },
    { name: "#m", line: 8, lines: 3 },
    { name: "f", line: 12, lines: 3 },
  ]);
});
