/**
 * The tree's floors, read from the import graph: a folder under src/ imports only folders on lower
 * floors, so the wire's vocabulary and lifecycle pieces never depend on config, I/O shells or roles,
 * and roles never on each other. Fails naming every import that climbs.
 * @module
 */
import assert from "node:assert/strict";

/**
 * Floor of each folder. 0: the wire's words, lifecycle, certificates; 1: identities and config;
 * 2: I/O below the roles; 3: services a relay hosts, direct paths (both ends); 4: the roles;
 * 5: roles in sandboxes; 6: entry points.
 */
const FLOORS: Record<string, number> = {
  protocol: 0,
  runtime: 0,
  pki: 0,
  ".": 0, // src/version.ts
  auth: 1,
  policy: 1, // may import protocol only: pure decisions over identities and groups
  config: 1,
  log: 2,
  store: 2,
  transport: 2,
  acme: 3,
  admin: 3,
  p2p: 3, // direct paths, both ends: below the client and connector that use them, and the doctor
  relay: 4,
  connector: 4,
  client: 4,
  doctor: 4, // like a dialing role: probes relays through transport/ with a config/ dialer's settings
  sandbox: 5,
  cli: 6,
  demo: 6,
};

const SRC = new URL("./", import.meta.url);

async function* sourceFiles(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* sourceFiles(url);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) yield url;
  }
}

/** The src/ folder a file belongs to ("." for files directly in src/). */
function folderOf(url: URL): string {
  const rel = url.pathname.slice(SRC.pathname.length);
  return rel.includes("/") ? rel.slice(0, rel.indexOf("/")) : ".";
}

Deno.test("src/ folders import only from lower floors (no pure folder reaches up)", async () => {
  const climbs: string[] = [];
  const unknown = new Set<string>();
  for await (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    const text = await Deno.readTextFile(file);
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
      const target = new URL(m[1], file);
      if (!target.pathname.startsWith(SRC.pathname)) continue;
      const to = folderOf(target);
      if (to === from) continue;
      for (const f of [from, to]) if (!(f in FLOORS)) unknown.add(f);
      if (FLOORS[to] >= FLOORS[from]) {
        climbs.push(`${file.pathname.slice(SRC.pathname.length)} → ${m[1]}`);
      }
    }
  }
  assert.deepEqual([...unknown], [], "every folder under src/ has a floor in FLOORS");
  assert.deepEqual(climbs, [], "imports that climb a floor or cross to a sibling");
});
