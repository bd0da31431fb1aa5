/**
 * Guards what `deno compile` cannot show on machines that cannot run it: a Worker's module is not
 * embedded unless named with --include, and neither is a module behind a non-literal `import()`.
 * tools/compile.sh holds the one compile command; this fails when a `new Worker(...)` entry under
 * src/ (or main.ts) is missing from its INCLUDES, when an `import()` there is not a string literal,
 * or when the release workflow compiles some other way.
 * @module
 */
import assert from "node:assert/strict";
import { relative } from "node:path";
import { REPO_ROOT } from "../_helpers/ztna_process.ts";

/** The INCLUDES=( … ) entries of tools/compile.sh, repository-relative. */
function compileIncludes(script: string): string[] {
  const block = script.match(/^INCLUDES=\(\n([\s\S]*?)\n\)$/m);
  if (block === null) throw new Error("tools/compile.sh has no INCLUDES=( … ) block");
  return block[1].split("\n").map((line) => line.trim()).filter((l) => l && !l.startsWith("#"));
}

/** Source lines without comment lines (doc comments mention `new Worker(` and `import(`). */
function codeLines(text: string): Array<{ line: number; code: string }> {
  return text.split("\n").map((code, i) => ({ line: i + 1, code }))
    .filter(({ code }) => !/^\s*(\*|\/\/|\/\*)/.test(code));
}

/** What one file needs embedded, and what cannot be embedded at all. */
export function scanSource(
  file: string,
  text: string,
): { workerEntries: string[]; problems: string[] } {
  const lines = codeLines(text);
  const problems: string[] = [];
  for (const { line, code } of lines) {
    // `import(` not followed by a quote: the module cannot be known when compiling.
    if (/(^|[^\w.])import\(\s*(?!["'])/.test(code)) {
      problems.push(`${file}:${line}: import() of a non-literal specifier: ${code.trim()}`);
    }
  }
  const workerEntries: string[] = [];
  if (lines.some(({ code }) => code.includes("new Worker("))) {
    for (const { code } of lines) {
      for (
        const m of code.matchAll(/new URL\(\s*["']([^"']+\.ts)["'],\s*import\.meta\.url\s*\)/g)
      ) {
        workerEntries.push(new URL(m[1], `file://${REPO_ROOT}/${file}`).pathname);
      }
    }
    if (workerEntries.length === 0) {
      problems.push(
        `${file}: new Worker(...) without a literal new URL("./x.ts", import.meta.url)`,
      );
    }
  }
  return { workerEntries: workerEntries.map((p) => relative(REPO_ROOT, p)), problems };
}

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(`${REPO_ROOT}/${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* sources(path);
    else if (/\.ts$/.test(entry.name) && !/_test\.ts$/.test(entry.name)) yield path;
  }
}

Deno.test("every Worker entry under src/ is in tools/compile.sh's --include list, every import() is literal", async () => {
  const includes = compileIncludes(await Deno.readTextFile(`${REPO_ROOT}/tools/compile.sh`));
  const problems: string[] = [];
  const entries = new Set<string>();
  for await (const file of sources("src")) {
    const scan = scanSource(file, await Deno.readTextFile(`${REPO_ROOT}/${file}`));
    problems.push(...scan.problems);
    for (const entry of scan.workerEntries) entries.add(entry);
  }
  problems.push(...scanSource("main.ts", await Deno.readTextFile(`${REPO_ROOT}/main.ts`)).problems);
  for (const entry of entries) {
    if (!includes.includes(entry)) {
      problems.push(`${entry} is a Worker entry missing from INCLUDES`);
    }
  }
  for (const include of includes) {
    await Deno.stat(`${REPO_ROOT}/${include}`).catch(() =>
      problems.push(`${include} does not exist`)
    );
  }
  assert.deepEqual(problems, []);
  // The sandboxes of the shipped binary (and the connector's launcher of egress Workers) are what
  // this guards today.
  assert.deepEqual([...entries].sort(), [
    "src/connector/egress_launcher.ts",
    "src/connector/egress_worker.ts",
    "src/sandbox/role_worker.ts",
  ]);
});

Deno.test("the guard catches a missing Worker entry and a computed import()", () => {
  const scan = scanSource(
    "src/x/mod.ts",
    [
      "/** new Worker( in a comment is ignored */",
      'const w = new Worker(new URL("./w.ts", import.meta.url), { type: "module" });',
      "const m = await import(`./plugins/${name}.ts`);",
      'const ok = await import("./literal.ts");',
    ].join("\n"),
  );
  assert.deepEqual(scan.workerEntries, ["src/x/w.ts"]);
  assert.equal(scan.problems.length, 1);
  assert.match(scan.problems[0], /src\/x\/mod\.ts:3: import\(\) of a non-literal specifier/);
});

Deno.test("deno task compile and the release workflow both compile through tools/compile.sh", async () => {
  const denoJson = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`));
  assert.match(denoJson.tasks.compile, /^tools\/compile\.sh /);
  const workflow = await Deno.readTextFile(`${REPO_ROOT}/.github/workflows/release.yml`);
  assert.match(workflow, /tools\/compile\.sh --target/);
  assert.doesNotMatch(workflow, /deno compile/, "no second compile command");
});
