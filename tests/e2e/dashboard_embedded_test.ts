/**
 * The dashboard ships inside the compiled binary: every page file in src/admin/dashboard/ is a text
 * import in main.ts's module graph (`deno info`), which is what `deno compile` embeds, so
 * tools/compile.sh needs no `--include` for them and the relay reads no file at run time.
 * (src/admin/dashboard_test.ts checks that these are exactly the files the endpoint serves.)
 * @module
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { REPO_ROOT } from "../_helpers/ztna_process.ts";

/** The part of `deno info --json` read here. */
const ModuleGraph = z.object({
  modules: z.array(z.object({
    specifier: z.string(),
    dependencies: z.array(z.object({
      code: z.object({ specifier: z.string() }).optional(),
      assertionType: z.string().optional(),
    })).optional(),
  })),
});

Deno.test("dashboard files are text imports in main.ts's module graph (deno compile embeds them)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", `${REPO_ROOT}/deno.json`, `${REPO_ROOT}/main.ts`],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const graph = ModuleGraph.parse(JSON.parse(new TextDecoder().decode(out.stdout)));
  const textImports = new Set(
    graph.modules.flatMap((m) => m.dependencies ?? [])
      .filter((d) => d.assertionType === "text")
      .map((d) => d.code?.specifier),
  );
  const modules = new Set(graph.modules.map((m) => m.specifier));
  const folder = new URL("src/admin/dashboard/", `file://${REPO_ROOT}/`);
  const pageFiles: string[] = [];
  for await (const entry of Deno.readDir(folder)) {
    if (/\.(html|css|js)$/.test(entry.name)) pageFiles.push(entry.name);
  }
  assert.ok(pageFiles.includes("index.html") && pageFiles.includes("app.js"), `${pageFiles}`);
  for (const name of pageFiles) {
    const file = new URL(name, folder).href;
    assert.ok(modules.has(file), `${name} is not in main.ts's module graph`);
    assert.ok(textImports.has(file), `${name} is not imported as text`);
  }
});
