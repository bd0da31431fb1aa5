/**
 * The line `ztna --version` prints: the version, the Deno runtime and the git commit the binary
 * was built from. tools/compile.sh writes the commit into src/build_info.json for the build; run
 * from a checkout (tools/ztna, deno task), the checkout's HEAD is read instead.
 * @module
 */
import buildInfo from "../build_info.json" with { type: "json" };
import { PROJECT_FOLDER } from "../config/permission_set.ts";
import { VERSION } from "../version.ts";

/** A full or abbreviated hex object name, possibly marked "-dirty" by tools/compile.sh. */
const COMMIT = /^[0-9a-f]{7,40}(-dirty)?$/;

/** HEAD of the checkout this source runs from, or undefined (no .git, or not readable). */
async function checkoutCommit(): Promise<string | undefined> {
  try {
    const git = `${PROJECT_FOLDER}/.git`;
    const head = (await Deno.readTextFile(`${git}/HEAD`)).trim();
    if (!head.startsWith("ref: ")) return COMMIT.test(head) ? head : undefined;
    const ref = head.slice(5);
    const loose = await Deno.readTextFile(`${git}/${ref}`).catch(() => undefined);
    if (loose !== undefined) return loose.trim();
    const packed = await Deno.readTextFile(`${git}/packed-refs`);
    return packed.split("\n").find((line) => line.endsWith(` ${ref}`))?.split(" ")[0];
  } catch {
    return undefined;
  }
}

/** `ztna 0.1.0 (deno 2.9.6, commit 3be7eb5…)`; a run from source says so. */
export async function versionLine(): Promise<string> {
  const built = typeof buildInfo.commit === "string" && COMMIT.test(buildInfo.commit)
    ? buildInfo.commit
    : undefined;
  const source = built === undefined ? await checkoutCommit() : undefined;
  const commit = built ?? (source === undefined ? "unknown" : `${source} (source checkout)`);
  return `ztna ${VERSION} (deno ${Deno.version.deno}, commit ${commit})\n`;
}
